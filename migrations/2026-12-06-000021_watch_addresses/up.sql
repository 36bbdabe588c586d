-- The generation of a user's watcher address (`watch+<token>@…`). The token is signed over the generation,
-- so rotating (generation + 1) voids every older address at once. No row means generation 0: the
-- addresses handed out before rotation existed keep working until their owner rotates.
CREATE TABLE watch_addresses (
    user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    generation integer NOT NULL CHECK (generation > 0),
    rotated_at timestamptz NOT NULL
);
