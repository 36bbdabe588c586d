DROP TABLE payment_history, usage_windows, delivery_window_usage, subscriptions;
