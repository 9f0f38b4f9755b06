package auth

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/kefu-desk/kefu/internal/database"
)

// SessionStore keeps scs sessions in the sessions table, so every Kefu
// instance sees every session. Use it as scs.SessionManager.Store; run
// Cleanup periodically (scs's own cleanup goroutine is for stores that
// start one, which this one deliberately does not).
type SessionStore struct {
	DB *database.DB
	// Now is the clock; nil means time.Now in UTC.
	Now func() time.Time
}

var (
	_ scs.CtxStore         = (*SessionStore)(nil)
	_ scs.IterableStore    = (*SessionStore)(nil)
	_ scs.IterableCtxStore = (*SessionStore)(nil)
)

func (s *SessionStore) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC().Truncate(time.Microsecond) // documented default
}

// FindCtx returns the data of an unexpired session.
func (s *SessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var b []byte
	err := s.DB.Read.QueryRowContext(ctx, `SELECT data FROM sessions WHERE token = $1 AND expiry > $2`, token, s.now()).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, errorf("find session: %w", err)
	}
	return b, true, nil
}

// CommitCtx stores or replaces a session.
func (s *SessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	if b == nil {
		b = []byte{}
	}
	_, err := s.DB.Write.ExecContext(ctx, `INSERT INTO sessions (token, data, expiry) VALUES ($1, $2, $3)
		ON CONFLICT (token) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`,
		token, b, expiry.UTC().Truncate(time.Microsecond))
	if err != nil {
		return errorf("commit session: %w", err)
	}
	return nil
}

// DeleteCtx removes a session; an unknown token is not an error.
func (s *SessionStore) DeleteCtx(ctx context.Context, token string) error {
	if _, err := s.DB.Write.ExecContext(ctx, `DELETE FROM sessions WHERE token = $1`, token); err != nil {
		return errorf("delete session: %w", err)
	}
	return nil
}

// AllCtx returns every unexpired session by token.
func (s *SessionStore) AllCtx(ctx context.Context) (map[string][]byte, error) {
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT token, data FROM sessions WHERE expiry > $1`, s.now())
	if err != nil {
		return nil, errorf("list sessions: %w", err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var token string
		var b []byte
		if err := rows.Scan(&token, &b); err != nil {
			return nil, errorf("list sessions: %w", err)
		}
		out[token] = b
	}
	return out, rows.Err()
}

// Cleanup deletes expired sessions and returns how many.
func (s *SessionStore) Cleanup(ctx context.Context) (int64, error) {
	res, err := s.DB.Write.ExecContext(ctx, `DELETE FROM sessions WHERE expiry <= $1`, s.now())
	if err != nil {
		return 0, errorf("clean up sessions: %w", err)
	}
	return res.RowsAffected()
}

// Find is FindCtx without a context, for scs.Store.
func (s *SessionStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// Commit is CommitCtx without a context, for scs.Store.
func (s *SessionStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// Delete is DeleteCtx without a context, for scs.Store.
func (s *SessionStore) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}

// All is AllCtx without a context, for scs.IterableStore.
func (s *SessionStore) All() (map[string][]byte, error) {
	return s.AllCtx(context.Background())
}
