DROP TABLE oidc_flows;
DROP TABLE user_identities;
