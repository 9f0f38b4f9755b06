package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/team"
)

// Rate limits on sign-in: failures inside Window, per email and per client
// address. Attempts refused by the limit are not counted themselves, so a
// locked-out email opens again Window after its fifth failure instead of
// staying shut for as long as someone keeps guessing.
const (
	Window           = 15 * time.Minute
	MaxEmailFailures = 5
	MaxIPFailures    = 30
)

// RetryError is the cause inside a RateLimited *kefu.Error; RetryAt is when
// the next attempt will be considered (for a Retry-After header).
type RetryError struct{ RetryAt time.Time }

func (e *RetryError) Error() string { return "retry after " + e.RetryAt.Format(time.RFC3339) }

// RetryAt returns when a RateLimited error from Login lifts.
func RetryAt(err error) (time.Time, bool) {
	var r *RetryError
	if errors.As(err, &r) {
		return r.RetryAt, true
	}
	return time.Time{}, false
}

var errWrongLogin = kefu.Errorf(kefu.Unauthorized, "wrong email or password")

// Login checks email and password and returns the staff member's actor.
// Unknown email, wrong password, no password set and disabled account all
// return the same Unauthorized "wrong email or password", take as long as
// one hash check, and are recorded in login_failures. Too many recent
// failures for the email or ip are RateLimited, checked before the
// password. A success is audited as action "login" on the staff member
// and, when the stored hash was made with older parameters, rehashes it.
//
// Each attempt is written to login_failures before the limit is counted
// and removed again if it turns out not to be a failure (success, refused
// by the limit, or an internal error). So a burst of parallel guesses
// cannot all pass the check before any failure is recorded: at most
// MaxEmailFailures wrong passwords per email get verified in a window,
// however many requests arrive at once. (Parallel attempts count against
// each other, so a burst may refuse one more than strictly needed.)
func (s *Service) Login(ctx context.Context, email, password, ip string) (kefu.Actor, error) {
	email = team.NormalizeEmail(email)
	if len(email) > 320 {
		email = email[:320]
	}
	if len(ip) > 64 {
		ip = ip[:64]
	}
	now := s.now()
	attempt := kefu.NewID()
	if _, err := s.DB.Write.ExecContext(ctx, `INSERT INTO login_failures (id, email, ip, at) VALUES ($1, $2, $3, $4)`,
		attempt, email, ip, now); err != nil {
		return kefu.Actor{}, errorf("record login attempt: %w", err)
	}
	failed := false
	defer func() {
		if !failed {
			// Not a failure after all. A context already cancelled must
			// not leave the row behind.
			s.DB.Write.ExecContext(context.WithoutCancel(ctx), `DELETE FROM login_failures WHERE id = $1`, attempt)
		}
	}()
	if err := s.checkRate(ctx, email, ip, now, attempt); err != nil {
		return kefu.Actor{}, err
	}
	cred, err := s.Team.Credentials(ctx, email)
	if err != nil && !kefu.IsCode(err, kefu.NotFound) {
		return kefu.Actor{}, err
	}
	ok, rehash, err := s.check(ctx, password, cred.PasswordHash) // "" checks the dummy
	if err != nil {
		return kefu.Actor{}, err
	}
	if !ok || cred.Disabled {
		failed = true
		return kefu.Actor{}, errWrongLogin
	}
	actor, err := s.Team.ActorFor(ctx, cred.StaffID)
	if kefu.IsCode(err, kefu.Unauthorized) { // disabled in between
		failed = true
		return kefu.Actor{}, errWrongLogin
	}
	if err != nil {
		return kefu.Actor{}, err
	}
	if rehash {
		if h, err := s.HashPassword(password); err == nil {
			// A failure here only postpones the upgrade to the next sign-in.
			s.Team.ReplacePasswordHash(ctx, cred.StaffID, cred.PasswordHash, h)
		}
	}
	e := audit.Entry{Action: "login", Entity: "staff", EntityID: actor.ID,
		Changes: map[string]audit.Change{"ip": {After: ip}}}
	if err := recordAudit(kefu.WithActor(ctx, actor), s.DB, now, e); err != nil {
		return kefu.Actor{}, errorf("login: %w", err)
	}
	return actor, nil
}

// checkRate returns RateLimited when email or ip has too many failures in
// the window, not counting the attempt being checked. The limit-th newest
// failure inside the window is the one whose expiry brings the count back
// under the limit.
func (s *Service) checkRate(ctx context.Context, email, ip string, now time.Time, attempt string) error {
	since := now.Add(-Window)
	var retry time.Time
	for _, c := range []struct {
		col, v string
		limit  int
	}{{"email", email, MaxEmailFailures}, {"ip", ip, MaxIPFailures}} {
		if c.v == "" {
			continue
		}
		var at time.Time
		err := s.DB.Read.QueryRowContext(ctx, `SELECT at FROM login_failures WHERE `+c.col+` = $1 AND at > $2 AND id <> $3
			ORDER BY at DESC LIMIT 1 OFFSET `+fmt.Sprint(c.limit-1), c.v, since, attempt).Scan(&at)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return errorf("rate limit: %w", err)
		}
		if t := at.UTC().Add(Window); t.After(retry) {
			retry = t
		}
	}
	if retry.IsZero() {
		return nil
	}
	wait := retry.Sub(now).Round(time.Minute)
	if wait < time.Minute {
		wait = time.Minute
	}
	return &kefu.Error{Code: kefu.RateLimited,
		Message: fmt.Sprintf("too many failed sign-in attempts; try again in %d minutes (after %s)",
			int(wait.Minutes()), retry.Format("15:04 MST")),
		Err: &RetryError{RetryAt: retry}}
}

// PruneFailures deletes sign-in failures older than olderThan (never less
// than Window, which the rate limit needs) and returns how many went. Run
// it from a periodic sweep; keep a few weeks for investigating attacks.
func (s *Service) PruneFailures(ctx context.Context, olderThan time.Duration) (int64, error) {
	olderThan = max(olderThan, Window)
	res, err := s.DB.Write.ExecContext(ctx, `DELETE FROM login_failures WHERE at < $1`, s.now().Add(-olderThan))
	if err != nil {
		return 0, errorf("prune login failures: %w", err)
	}
	return res.RowsAffected()
}
