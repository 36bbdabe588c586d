DROP TABLE onboarding_progress;
