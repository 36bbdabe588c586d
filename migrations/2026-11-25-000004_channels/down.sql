DROP TABLE watcher_events, watchers, completion_hooks, calendar_connections, sms_opt_outs, trusted_contacts,
    user_agent_subscriptions, agent_definitions;
