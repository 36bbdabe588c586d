-- Episodes by user, newest first: no query reads episodes that way. The two that start from a user (who
-- answered this SMS?) want that user's *open* episodes, which they now reach through the user's reminders
-- and `escalations_one_open`, instead of scanning every episode the user ever had. Without it, each episode
-- the fire step inserts (and each row version an advance writes) costs one index entry fewer.
DROP INDEX escalations_user;
