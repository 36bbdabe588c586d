DROP TABLE square_checkouts;
