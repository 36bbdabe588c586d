// @generated automatically by Diesel CLI.

diesel::table! {
    action_link_uses (token_id) {
        token_id -> Uuid,
        used_at -> Timestamptz,
        outcome -> Text,
    }
}

diesel::table! {
    admin_actions (id) {
        id -> Uuid,
        admin_user_id -> Uuid,
        action -> Text,
        target_user_id -> Nullable<Uuid>,
        reason -> Text,
        changes -> Jsonb,
        ip -> Nullable<Text>,
        request_id -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    admin_users (id) {
        id -> Uuid,
        user_id -> Uuid,
        role -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    agent_definitions (agent_type) {
        agent_type -> Text,
        name -> Text,
        description -> Text,
        config_schema -> Jsonb,
        min_tier -> Text,
        enabled -> Bool,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Uuid,
        user_id -> Uuid,
        name -> Text,
        prefix -> Text,
        key_hash -> Bytea,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    audit_trails (id) {
        id -> Uuid,
        actor_user_id -> Nullable<Uuid>,
        actor_kind -> Text,
        action -> Text,
        target_type -> Nullable<Text>,
        target_id -> Nullable<Text>,
        status -> Nullable<Int2>,
        ip -> Nullable<Text>,
        request_id -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    calendar_events (calendar_id, uid, starts_at) {
        calendar_id -> Uuid,
        user_id -> Uuid,
        uid -> Text,
        starts_at -> Timestamptz,
        ends_at -> Timestamptz,
        summary -> Text,
        categories -> Array<Text>,
        all_day -> Bool,
        busy -> Bool,
    }
}

diesel::table! {
    calendar_rules (id) {
        id -> Uuid,
        calendar_id -> Uuid,
        user_id -> Uuid,
        #[sql_name = "match"]
        match_ -> Jsonb,
        action -> Text,
        reminder_ids -> Nullable<Array<Uuid>>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    calendars (id) {
        id -> Uuid,
        user_id -> Uuid,
        name -> Text,
        kind -> Text,
        source_host -> Text,
        source_ciphertext -> Bytea,
        holidays -> Bool,
        etag -> Nullable<Text>,
        last_modified -> Nullable<Text>,
        status -> Text,
        last_error -> Nullable<Text>,
        failures -> Int4,
        event_count -> Int4,
        skipped_events -> Int4,
        last_synced_at -> Nullable<Timestamptz>,
        expanded_at -> Nullable<Timestamptz>,
        next_sync_at -> Timestamptz,
        created_at -> Timestamptz,
        paused_reason -> Nullable<Text>,
    }
}

diesel::table! {
    completion_criteria (reminder_id) {
        reminder_id -> Uuid,
        kind -> Text,
        config -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    completion_hooks (id) {
        id -> Uuid,
        user_id -> Uuid,
        reminder_id -> Uuid,
        token_hash -> Bytea,
        default_action -> Text,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    console_sessions (id) {
        id -> Uuid,
        refresh_session_id -> Uuid,
        user_id -> Uuid,
        token_hash -> Bytea,
        last_seen_at -> Timestamptz,
        expires_at -> Timestamptz,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    deliveries (id) {
        id -> Uuid,
        escalation_id -> Uuid,
        reminder_id -> Uuid,
        user_id -> Uuid,
        tier -> Int2,
        loop_index -> Int2,
        target_kind -> Text,
        target_id -> Uuid,
        channel -> Text,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        lease_until -> Nullable<Timestamptz>,
        offered_at -> Nullable<Timestamptz>,
        sent_at -> Nullable<Timestamptz>,
        delivered_at -> Nullable<Timestamptz>,
        deferred_reason -> Nullable<Text>,
        last_error -> Nullable<Text>,
        cancel_reason -> Nullable<Text>,
        provider_message_id -> Nullable<Text>,
        payload -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    delivery_window_usage (user_id, window_start) {
        user_id -> Uuid,
        window_start -> Timestamptz,
        window_end -> Timestamptz,
        deliveries -> Int4,
    }
}

diesel::table! {
    email_verifications (id) {
        id -> Uuid,
        user_id -> Uuid,
        token_hash -> Bytea,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    escalation_profiles (id) {
        id -> Uuid,
        user_id -> Nullable<Uuid>,
        name -> Text,
        description -> Nullable<Text>,
        tiers -> Jsonb,
        repeat_count -> Int2,
        ack_window_minutes -> Int4,
        loop_gap_minutes -> Nullable<Int4>,
        is_preset -> Bool,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    escalations (id) {
        id -> Uuid,
        reminder_id -> Uuid,
        user_id -> Uuid,
        occurrence_at -> Timestamptz,
        plan -> Jsonb,
        status -> Text,
        end_reason -> Nullable<Text>,
        current_tier -> Int2,
        loop_index -> Int2,
        fired_at -> Timestamptz,
        loop_started_at -> Timestamptz,
        next_step_at -> Nullable<Timestamptz>,
        ack_until -> Nullable<Timestamptz>,
        acknowledged_at -> Nullable<Timestamptz>,
        completed_at -> Nullable<Timestamptz>,
        acted_by -> Nullable<Text>,
        scheduler_epoch -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    event_logs (id) {
        id -> Uuid,
        user_id -> Nullable<Uuid>,
        kind -> Text,
        subject_id -> Nullable<Uuid>,
        data -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    family_members (id) {
        id -> Uuid,
        owner_id -> Uuid,
        email -> Text,
        member_id -> Nullable<Uuid>,
        status -> Text,
        token_hash -> Nullable<Bytea>,
        invited_at -> Timestamptz,
        expires_at -> Timestamptz,
        joined_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    idempotency_keys (user_id, key) {
        user_id -> Uuid,
        key -> Text,
        method -> Text,
        path -> Text,
        request_hash -> Bytea,
        response_status -> Nullable<Int2>,
        response_body -> Nullable<Bytea>,
        locked_until -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    oidc_flows (state_hash) {
        state_hash -> Bytea,
        browser_hash -> Bytea,
        nonce -> Text,
        pkce_verifier -> Text,
        next -> Nullable<Text>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    onboarding_progress (user_id) {
        user_id -> Uuid,
        completed_steps -> Array<Text>,
        dismissed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    outreach_sends (id) {
        id -> Int8,
        user_id -> Uuid,
        kind -> Text,
        address -> Text,
        sent_at -> Timestamptz,
    }
}

diesel::table! {
    password_resets (id) {
        id -> Uuid,
        user_id -> Uuid,
        token_hash -> Bytea,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    payment_history (id) {
        id -> Uuid,
        user_id -> Uuid,
        square_invoice_id -> Nullable<Text>,
        square_payment_id -> Nullable<Text>,
        amount_cents -> Int8,
        currency -> Text,
        status -> Text,
        description -> Nullable<Text>,
        paid_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    pending_notifications (delivery_id) {
        delivery_id -> Uuid,
        user_id -> Uuid,
        subscription_id -> Uuid,
        payload -> Jsonb,
        delivered_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    processed_webhook_events (provider, event_id) {
        provider -> Text,
        event_id -> Text,
        event_type -> Text,
        payload -> Jsonb,
        processed_at -> Timestamptz,
    }
}

diesel::table! {
    refresh_sessions (id) {
        id -> Uuid,
        user_id -> Uuid,
        user_agent -> Nullable<Text>,
        ip -> Nullable<Text>,
        last_used_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        revoked_reason -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Uuid,
        session_id -> Uuid,
        token_hash -> Bytea,
        rotated_at -> Nullable<Timestamptz>,
        expires_at -> Timestamptz,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    reminder_schedules (reminder_id) {
        reminder_id -> Uuid,
        kind -> Text,
        trigger_at -> Nullable<Timestamptz>,
        expression -> Nullable<Text>,
        interval_minutes -> Nullable<Int4>,
        start_at -> Nullable<Timestamptz>,
        dtstart -> Nullable<Timestamp>,
        timezone -> Text,
        exclude_dates -> Array<Nullable<Date>>,
        skip_weekends -> Bool,
        skip_holidays -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    reminder_shares (reminder_id, member_id) {
        reminder_id -> Uuid,
        member_id -> Uuid,
        owner_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    reminder_snoozes (id) {
        id -> Uuid,
        reminder_id -> Uuid,
        until -> Timestamptz,
        phrase -> Nullable<Text>,
        interpreted_as -> Nullable<Text>,
        source -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    reminders (id) {
        id -> Uuid,
        user_id -> Uuid,
        title -> Text,
        description -> Nullable<Text>,
        importance -> Text,
        status -> Text,
        escalation_profile_id -> Uuid,
        timezone -> Text,
        next_trigger_at -> Nullable<Timestamptz>,
        snoozed_until -> Nullable<Timestamptz>,
        completed_at -> Nullable<Timestamptz>,
        archived_at -> Nullable<Timestamptz>,
        paused_reason -> Nullable<Text>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    scheduler_candidates (holder) {
        holder -> Text,
        seen_at -> Timestamptz,
    }
}

diesel::table! {
    scheduler_leases (name) {
        name -> Text,
        epoch -> Int8,
        holder -> Nullable<Text>,
        acquired_at -> Nullable<Timestamptz>,
        heartbeat_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    sms_opt_outs (phone) {
        phone -> Text,
        opted_out_at -> Timestamptz,
    }
}

diesel::table! {
    square_checkouts (order_id) {
        order_id -> Text,
        user_id -> Uuid,
        payment_link_id -> Nullable<Text>,
        tier -> Nullable<Text>,
        customer_id -> Nullable<Text>,
        paid_at -> Nullable<Timestamptz>,
        subscription_id -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    subscription_events (id) {
        id -> Uuid,
        user_id -> Uuid,
        kind -> Text,
        tier -> Text,
        previous_tier -> Nullable<Text>,
        at -> Timestamptz,
    }
}

diesel::table! {
    subscriptions (id) {
        id -> Uuid,
        user_id -> Uuid,
        tier -> Text,
        status -> Text,
        tier_override -> Nullable<Text>,
        square_customer_id -> Nullable<Text>,
        square_subscription_id -> Nullable<Text>,
        square_order_id -> Nullable<Text>,
        current_period_end -> Nullable<Timestamptz>,
        cancel_at_period_end -> Bool,
        delivery_state -> Text,
        delivery_state_reason -> Nullable<Text>,
        usage_suspended_until -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    support_notes (id) {
        id -> Uuid,
        user_id -> Uuid,
        admin_user_id -> Uuid,
        body -> Text,
        created_at -> Timestamptz,
        pinned -> Bool,
        updated_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    system_settings (key) {
        key -> Text,
        value -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    system_health_snapshots (id) {
        id -> Uuid,
        taken_at -> Timestamptz,
        status -> Text,
        data -> Jsonb,
    }
}

diesel::table! {
    trusted_contacts (id) {
        id -> Uuid,
        user_id -> Uuid,
        name -> Text,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        relationship -> Nullable<Text>,
        timezone -> Nullable<Text>,
        consent_status -> Text,
        invited_at -> Nullable<Timestamptz>,
        accepted_at -> Nullable<Timestamptz>,
        opted_out_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        paused_reason -> Nullable<Text>,
        quiet_hours_start -> Nullable<Time>,
        quiet_hours_end -> Nullable<Time>,
        invitation_texted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    usage_windows (user_id, metric, period_start) {
        user_id -> Uuid,
        metric -> Text,
        period_start -> Date,
        used -> Int4,
    }
}

diesel::table! {
    marketplace_agents (id) {
        id -> Uuid,
        developer_id -> Uuid,
        agent_type -> Text,
        name -> Text,
        description -> Text,
        capabilities -> Array<Text>,
        config_schema -> Jsonb,
        callback_url -> Nullable<Text>,
        secret_ciphertext -> Bytea,
        status -> Text,
        status_reason -> Nullable<Text>,
        timeout_ms -> Int4,
        max_payload_bytes -> Int4,
        requests_per_minute -> Int4,
        allowed_hosts -> Array<Text>,
        consecutive_failures -> Int4,
        last_failure -> Nullable<Text>,
        approved_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    agent_commands (agent_id, message_id) {
        agent_id -> Uuid,
        message_id -> Text,
        delivery_id -> Uuid,
        command -> Text,
        status -> Int2,
        answer -> Jsonb,
        received_at -> Timestamptz,
    }
}

diesel::table! {
    user_agent_subscriptions (id) {
        id -> Uuid,
        user_id -> Uuid,
        agent_type -> Text,
        name -> Nullable<Text>,
        config -> Jsonb,
        secret_ciphertext -> Nullable<Bytea>,
        previous_secret_ciphertext -> Nullable<Bytea>,
        previous_secret_expires_at -> Nullable<Timestamptz>,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        last_used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        paused_reason -> Nullable<Text>,
        verified_at -> Nullable<Timestamptz>,
        verification_code_hash -> Nullable<Bytea>,
        verification_expires_at -> Nullable<Timestamptz>,
        verification_attempts -> Int4,
    }
}

diesel::table! {
    user_identities (provider, subject) {
        provider -> Text,
        subject -> Text,
        user_id -> Uuid,
        email -> Text,
        created_at -> Timestamptz,
        last_used_at -> Timestamptz,
    }
}

diesel::table! {
    user_profiles (user_id) {
        user_id -> Uuid,
        phone -> Nullable<Text>,
        locale -> Text,
        avatar_url -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        password_hash -> Text,
        display_name -> Text,
        timezone -> Text,
        quiet_hours_start -> Nullable<Time>,
        quiet_hours_end -> Nullable<Time>,
        preferences -> Jsonb,
        email_verified_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
        purge_after -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    watch_addresses (user_id) {
        user_id -> Uuid,
        generation -> Int4,
        rotated_at -> Timestamptz,
    }
}

diesel::table! {
    watcher_events (id) {
        id -> Uuid,
        watcher_id -> Nullable<Uuid>,
        user_id -> Uuid,
        reminder_id -> Nullable<Uuid>,
        source -> Text,
        action -> Text,
        summary -> Nullable<Text>,
        created_at -> Timestamptz,
        hook_id -> Nullable<Uuid>,
        occurrence_at -> Nullable<Timestamptz>,
        message_id -> Nullable<Text>,
    }
}

diesel::table! {
    watchers (id) {
        id -> Uuid,
        user_id -> Uuid,
        reminder_id -> Uuid,
        kind -> Text,
        sender_pattern -> Nullable<Text>,
        subject_keyword -> Nullable<Text>,
        body_keyword -> Nullable<Text>,
        action -> Text,
        enabled -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        imap_host -> Nullable<Text>,
        imap_port -> Nullable<Int4>,
        imap_tls -> Nullable<Bool>,
        imap_folder -> Nullable<Text>,
        secret_ciphertext -> Nullable<Bytea>,
        uid_validity -> Nullable<Int8>,
        last_uid -> Nullable<Int8>,
        poll_status -> Nullable<Text>,
        last_error -> Nullable<Text>,
        failures -> Int4,
        last_polled_at -> Nullable<Timestamptz>,
        next_poll_at -> Nullable<Timestamptz>,
        paused_reason -> Nullable<Text>,
    }
}

diesel::joinable!(admin_actions -> admin_users (admin_user_id));
diesel::joinable!(admin_actions -> users (target_user_id));
diesel::joinable!(admin_users -> users (user_id));
diesel::joinable!(api_keys -> users (user_id));
diesel::joinable!(audit_trails -> users (actor_user_id));
diesel::joinable!(calendar_events -> calendars (calendar_id));
diesel::joinable!(calendar_rules -> calendars (calendar_id));
diesel::joinable!(calendars -> users (user_id));
diesel::joinable!(completion_criteria -> reminders (reminder_id));
diesel::joinable!(completion_hooks -> reminders (reminder_id));
diesel::joinable!(completion_hooks -> users (user_id));
diesel::joinable!(console_sessions -> refresh_sessions (refresh_session_id));
diesel::joinable!(console_sessions -> users (user_id));
diesel::joinable!(deliveries -> escalations (escalation_id));
// No foreign keys since migration 000006 (copies of the escalation's), but still joinable.
diesel::joinable!(deliveries -> reminders (reminder_id));
diesel::joinable!(deliveries -> users (user_id));
diesel::joinable!(delivery_window_usage -> users (user_id));
diesel::joinable!(escalation_profiles -> users (user_id));
diesel::joinable!(escalations -> reminders (reminder_id));
diesel::joinable!(escalations -> users (user_id));
diesel::joinable!(email_verifications -> users (user_id));
diesel::joinable!(event_logs -> users (user_id));
diesel::joinable!(idempotency_keys -> users (user_id));
diesel::joinable!(password_resets -> users (user_id));
diesel::joinable!(payment_history -> users (user_id));
diesel::joinable!(pending_notifications -> deliveries (delivery_id));
diesel::joinable!(onboarding_progress -> users (user_id));
diesel::joinable!(outreach_sends -> users (user_id));
diesel::joinable!(pending_notifications -> user_agent_subscriptions (subscription_id));
diesel::joinable!(pending_notifications -> users (user_id));
diesel::joinable!(refresh_sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> refresh_sessions (session_id));
diesel::joinable!(reminder_schedules -> reminders (reminder_id));
diesel::joinable!(reminder_snoozes -> reminders (reminder_id));
diesel::joinable!(reminders -> escalation_profiles (escalation_profile_id));
diesel::joinable!(reminder_shares -> reminders (reminder_id));
diesel::joinable!(reminders -> users (user_id));
diesel::joinable!(square_checkouts -> users (user_id));
diesel::joinable!(subscriptions -> users (user_id));
diesel::joinable!(support_notes -> admin_users (admin_user_id));
diesel::joinable!(support_notes -> users (user_id));
diesel::joinable!(trusted_contacts -> users (user_id));
diesel::joinable!(usage_windows -> users (user_id));
diesel::joinable!(user_agent_subscriptions -> agent_definitions (agent_type));
diesel::joinable!(marketplace_agents -> users (developer_id));
diesel::joinable!(agent_commands -> marketplace_agents (agent_id));
diesel::joinable!(user_agent_subscriptions -> users (user_id));
diesel::joinable!(user_profiles -> users (user_id));
diesel::joinable!(user_identities -> users (user_id));
diesel::joinable!(watch_addresses -> users (user_id));
diesel::joinable!(watcher_events -> completion_hooks (hook_id));
diesel::joinable!(watcher_events -> reminders (reminder_id));
diesel::joinable!(watcher_events -> users (user_id));
diesel::joinable!(watcher_events -> watchers (watcher_id));
diesel::joinable!(watchers -> reminders (reminder_id));
diesel::joinable!(watchers -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    action_link_uses,
    admin_actions,
    admin_users,
    agent_commands,
    agent_definitions,
    api_keys,
    audit_trails,
    calendar_events,
    calendar_rules,
    calendars,
    completion_criteria,
    completion_hooks,
    console_sessions,
    deliveries,
    delivery_window_usage,
    email_verifications,
    escalation_profiles,
    escalations,
    event_logs,
    family_members,
    idempotency_keys,
    oidc_flows,
    onboarding_progress,
    outreach_sends,
    password_resets,
    payment_history,
    pending_notifications,
    processed_webhook_events,
    refresh_sessions,
    refresh_tokens,
    reminder_schedules,
    reminder_shares,
    reminder_snoozes,
    reminders,
    scheduler_candidates,
    scheduler_leases,
    sms_opt_outs,
    square_checkouts,
    subscription_events,
    subscriptions,
    support_notes,
    system_health_snapshots,
    system_settings,
    trusted_contacts,
    usage_windows,
    marketplace_agents,
    user_agent_subscriptions,
    user_identities,
    user_profiles,
    users,
    watch_addresses,
    watcher_events,
    watchers,
);
