DROP TABLE watch_addresses;
