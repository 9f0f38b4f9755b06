// Package auth answers "who is asking": staff sign-in with argon2id
// passwords and per-email and per-address rate limits, browser sessions
// (an scs store in our database) and API tokens with scopes.
//
// It builds on team (accounts, roles, departments) and never the other
// way round: the composition root hands Service.HashPassword to
// team.Service.Hash.
package auth

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/team"
)

// Service signs staff in and manages API tokens.
type Service struct {
	DB   *database.DB
	Team *team.Service
	// Now is the clock; nil means time.Now in UTC truncated to
	// microseconds.
	Now func() time.Time
	// Params is the argon2id cost for new hashes; the zero value means
	// DefaultParams. Tests set TestParams.
	Params Params

	once  sync.Once
	sem   chan struct{} // bounds concurrent hashes, and so their memory
	dummy string        // a hash to check against for unknown accounts
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC().Truncate(time.Microsecond) // documented default
}

func (s *Service) params() Params {
	if s.Params == (Params{}) {
		return DefaultParams
	}
	return s.Params
}

func (s *Service) init() {
	s.once.Do(func() {
		s.sem = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
		// Any password will do: it only has to cost what a real check costs.
		s.dummy, _ = HashPassword("kefu: no such account", s.params())
	})
}

// acquire waits for a hashing slot: each argon2id hash holds Params.Memory,
// so at most GOMAXPROCS run at once and a burst of sign-ins queues rather
// than exhausting memory.
func (s *Service) acquire(ctx context.Context) (release func(), err error) {
	s.init()
	select {
	case s.sem <- struct{}{}:
		return func() { <-s.sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// HashPassword hashes password with the service's parameters. Pass it to
// team.Service.Hash.
func (s *Service) HashPassword(password string) (string, error) {
	release, err := s.acquire(context.Background())
	if err != nil {
		return "", err
	}
	defer release()
	return HashPassword(password, s.params())
}

// CheckHash reports whether secret matches encoded, a hash HashPassword
// made, waiting for a hashing slot as a sign-in does: for one-time codes
// and other secrets kept as argon2id hashes.
func (s *Service) CheckHash(ctx context.Context, secret, encoded string) (bool, error) {
	ok, _, err := s.check(ctx, secret, encoded)
	return ok, err
}

// check verifies password against encoded ("" or malformed checks the
// dummy instead, so it costs the same and fails).
func (s *Service) check(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	release, err := s.acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer release()
	ok, rehash, err = CheckPassword(password, encoded, s.params())
	if err != nil {
		CheckPassword(password, s.dummy, s.params())
		return false, false, nil
	}
	return ok, rehash, nil
}

// ChangePassword sets the signed-in staff member's password after checking
// their current one. A wrong current password is an Invalid field
// "current_password".
func (s *Service) ChangePassword(ctx context.Context, current, next string) error {
	a := kefu.ActorFrom(ctx)
	if a.Kind != kefu.ActorStaff {
		return kefu.Errorf(kefu.Unauthorized, "sign in to change your password")
	}
	cred, err := s.Team.CredentialsByID(ctx, a.ID)
	if err != nil {
		return err
	}
	ok, _, err := s.check(ctx, current, cred.PasswordHash)
	if err != nil {
		return err
	}
	if !ok {
		return kefu.Fieldf("current_password", "wrong password")
	}
	return s.Team.SetPassword(ctx, a.ID, next)
}

func recordAudit(ctx context.Context, db *database.DB, now time.Time, e audit.Entry) error {
	return db.InTx(ctx, func(tx *sql.Tx) error { return audit.Record(ctx, tx, now, e) })
}

func errorf(format string, args ...any) error { return fmt.Errorf("auth: "+format, args...) }
