package portal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/kefu-desk/kefu/internal/database"
	"time"

	"github.com/kefu-desk/kefu"
)

// Session is a customer signed in to the portal. It is separate from
// staff sessions: its own cookie and table, never a staff actor.
type Session struct {
	ID         string
	CustomerID string
	Name       string // the customer's name, for the audit trail and greeting
	// TicketID, when set, is the one request the session may see (opened
	// with an order number and email address).
	TicketID  string
	Method    string // code, link or order
	TimeZone  string // the browser's zone, "" when unknown
	CreatedAt time.Time
	ExpiresAt time.Time
	// Token is the cookie's value; it is known only when the session
	// starts, as only its SHA-256 is stored.
	Token string
}

// touchEvery is how stale last_seen may get before a request writes it:
// a session's idle expiry moves in steps of this, not on every request.
const touchEvery = time.Minute

var errSignedOut = kefu.Errorf(kefu.Unauthorized, "sign in to see your requests")

func (s *Service) startSession(ctx context.Context, tx *sql.Tx, customerID, ticketID, method, ip, zone string, ttl time.Duration) (*Session, error) {
	now := s.Now()
	sess := &Session{ID: kefu.NewID(), CustomerID: customerID, TicketID: ticketID, Method: method, TimeZone: validZone(zone),
		CreatedAt: now, ExpiresAt: now.Add(min(ttl, s.limits().SessionIdle)), Token: newToken()}
	_, err := tx.ExecContext(ctx, `INSERT INTO portal_sessions (id, token_hash, customer_id, ticket_id, method, time_zone, ip,
		created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)`,
		sess.ID, digest(sess.Token), customerID, database.Nullable(ticketID), method, sess.TimeZone, ip, now, sess.ExpiresAt)
	if err != nil {
		return nil, fmt.Errorf("portal: session: %w", err)
	}
	return sess, nil
}

// validZone keeps a browser-reported zone only if Go knows it.
func validZone(z string) string {
	if z == "" || len(z) > 64 {
		return ""
	}
	if _, err := time.LoadLocation(z); err != nil {
		return ""
	}
	return z
}

// Session returns the live session of a cookie's token, or Unauthorized.
// Using a session keeps it alive up to its idle limit, never past its
// absolute limit. A session whose customer was blocked ends; one whose
// customer was merged into another follows the merge.
func (s *Service) Session(ctx context.Context, token string) (*Session, error) {
	if token == "" {
		return nil, errSignedOut
	}
	now := s.Now()
	var sess Session
	var ticketID, merged sql.NullString
	var lastSeen time.Time
	var blocked bool
	err := s.DB.Read.QueryRowContext(ctx, `SELECT CAST(p.id AS text), CAST(p.customer_id AS text), CAST(p.ticket_id AS text), p.method,
		p.time_zone, p.created_at, p.last_seen_at, p.expires_at, CAST(c.merged_into AS text), c.blocked, c.name
		FROM portal_sessions p JOIN customers c ON c.id = p.customer_id WHERE p.token_hash = $1`, digest(token)).Scan(
		&sess.ID, &sess.CustomerID, &ticketID, &sess.Method, &sess.TimeZone, &sess.CreatedAt, &lastSeen, &sess.ExpiresAt, &merged, &blocked, &sess.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errSignedOut
	}
	if err != nil {
		return nil, fmt.Errorf("portal: session: %w", err)
	}
	if !now.Before(sess.ExpiresAt) || blocked {
		if err := s.end(ctx, sess.ID); err != nil {
			return nil, err
		}
		return nil, kefu.Errorf(kefu.Unauthorized, "your session has ended; sign in again")
	}
	sess.TicketID = ticketID.String
	if merged.Valid {
		sess.CustomerID = merged.String
	}
	if now.Sub(lastSeen) >= touchEvery || merged.Valid {
		ttl := s.limits().SessionTTL
		if sess.Method == "order" {
			ttl = s.limits().OrderSessionTTL
		}
		sess.ExpiresAt = minTime(sess.CreatedAt.Add(ttl), now.Add(s.limits().SessionIdle))
		if _, err := s.DB.Write.ExecContext(ctx, `UPDATE portal_sessions SET last_seen_at = $2, expires_at = $3, customer_id = $4
			WHERE id = $1`, sess.ID, now, sess.ExpiresAt, sess.CustomerID); err != nil {
			return nil, fmt.Errorf("portal: session: %w", err)
		}
	}
	return &sess, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// SignOut ends the session of token; an unknown token is already out.
func (s *Service) SignOut(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	_, err := s.DB.Write.ExecContext(ctx, `DELETE FROM portal_sessions WHERE token_hash = $1`, digest(token))
	if err != nil {
		return fmt.Errorf("portal: sign out: %w", err)
	}
	return nil
}

func (s *Service) end(ctx context.Context, id string) error {
	if _, err := s.DB.Write.ExecContext(ctx, `DELETE FROM portal_sessions WHERE id = $1`, id); err != nil {
		return fmt.Errorf("portal: session: %w", err)
	}
	return nil
}

// Sweep deletes ended sessions, codes a day past their expiry and failed
// sign-ins older than a week (kept that long for looking into an attack).
// Run it periodically; it is idempotent.
func (s *Service) Sweep(ctx context.Context) (int64, error) {
	now := s.Now()
	var total int64
	for _, q := range []struct {
		sql string
		at  time.Time
	}{
		{`DELETE FROM portal_sessions WHERE expires_at <= $1`, now},
		{`DELETE FROM portal_codes WHERE expires_at <= $1`, now.Add(-24 * time.Hour)},
		{`DELETE FROM portal_failures WHERE at <= $1`, now.Add(-7 * 24 * time.Hour)},
	} {
		res, err := s.DB.Write.ExecContext(ctx, q.sql, q.at)
		if err != nil {
			return total, fmt.Errorf("portal: sweep: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}

// as is ctx acting as the session's customer: internal/ticket then shows
// only their tickets and public messages.
func (s *Service) as(ctx context.Context, sess *Session) context.Context {
	return kefu.WithActor(ctx, kefu.Actor{Kind: kefu.ActorCustomer, ID: sess.CustomerID, Name: sess.Name})
}
