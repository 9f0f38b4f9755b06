package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/cache"
	"github.com/kefu-desk/kefu/internal/database"
)

// API token scopes. A token may do what its scopes and its owner's current
// role both allow.
const (
	ScopeTicketsRead    = "tickets:read"
	ScopeTicketsWrite   = "tickets:write"
	ScopeCustomersRead  = "customers:read"
	ScopeCustomersWrite = "customers:write"
	ScopeAdmin          = "admin"
	ScopeAuditRead      = "audit:read"
	// The shop's catalogue and orders: everyone reads them, the shop's
	// integration (an administrator's token) writes them.
	ScopeShopRead  = "shop:read"
	ScopeShopWrite = "shop:write"
)

// Scopes lists every scope.
var Scopes = []string{ScopeTicketsRead, ScopeTicketsWrite, ScopeCustomersRead, ScopeCustomersWrite, ScopeAdmin, ScopeAuditRead,
	ScopeShopRead, ScopeShopWrite}

// ValidScope reports whether scope is one of Scopes.
func ValidScope(scope string) bool { return slices.Contains(Scopes, scope) }

// RoleAllowsScope reports whether a staff member with role may hold a
// token with scope: write scopes need a role that may write, "admin" an
// admin, "audit:read" a role that may read the audit log.
func RoleAllowsScope(role kefu.Role, scope string) bool {
	a := kefu.Actor{Kind: kefu.ActorStaff, Role: role}
	switch scope {
	case ScopeTicketsRead, ScopeCustomersRead, ScopeShopRead:
		return slices.Contains(kefu.Roles, role)
	case ScopeTicketsWrite, ScopeCustomersWrite:
		return a.CanWrite()
	case ScopeAdmin, ScopeShopWrite:
		return role == kefu.RoleAdmin
	case ScopeAuditRead:
		return a.CanReadAudit()
	}
	return false
}

// TokenPrefix starts every API token, so leaked tokens are easy to find
// in code and logs by secret scanners.
const TokenPrefix = "kfu_"

// Token describes an API token; the secret itself is shown once, by
// CreateToken, and stored only as a SHA-256 hash.
type Token struct {
	ID         string     `json:"id"`
	StaffID    string     `json:"staff_id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"` // the first 8 characters, to recognise it
	Scopes     []string   `json:"scopes"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
}

// lastUsedEvery is how stale last_used_at may get: one write a minute per
// token instead of one per request.
const lastUsedEvery = time.Minute

func hashToken(plaintext string) string {
	h := sha256.Sum256([]byte(plaintext))
	return hex.EncodeToString(h[:])
}

// CreateToken makes an API token for staffID and returns the secret, to be
// shown once. Staff may make tokens for themselves, admins for anyone;
// every scope must be known (field "scopes[i]") and allowed by the owner's
// role, and a token-authenticated caller cannot grant scopes it lacks.
func (s *Service) CreateToken(ctx context.Context, staffID, name string, scopes []string, expiresAt *time.Time) (string, Token, error) {
	a := kefu.ActorFrom(ctx)
	switch {
	case a.Kind == "":
		return "", Token{}, kefu.Errorf(kefu.Unauthorized, "sign in to create API tokens")
	case a.Kind == kefu.ActorCustomer:
		return "", Token{}, kefu.Errorf(kefu.Forbidden, "customers cannot create API tokens")
	case staffID != a.ID && !isAdmin(a):
		return "", Token{}, kefu.Errorf(kefu.Forbidden, "only admins may create API tokens for someone else")
	}
	owner, err := s.Team.ActorFor(ctx, staffID)
	if kefu.IsCode(err, kefu.Unauthorized) {
		return "", Token{}, kefu.Fieldf("staff_id", "no enabled staff member %q", staffID)
	}
	if err != nil {
		return "", Token{}, err
	}
	now := s.now()
	name = strings.TrimSpace(name)
	var fs kefu.Fields
	switch {
	case name == "":
		fs.Add("name", "required")
	case utf8.RuneCountInString(name) > 100:
		fs.Add("name", "too long (100 characters at most)")
	}
	if len(scopes) == 0 {
		fs.Add("scopes", "choose at least one of %s", strings.Join(Scopes, ", "))
	}
	for i, sc := range scopes {
		field := fmt.Sprintf("scopes[%d]", i)
		switch {
		case !ValidScope(sc):
			fs.Add(field, "unknown scope %q; use %s", sc, strings.Join(Scopes, ", "))
		case !RoleAllowsScope(owner.Role, sc):
			fs.Add(field, "the %s role does not allow %q", owner.Role, sc)
		case a.Scopes != nil && !slices.Contains(a.Scopes, sc):
			fs.Add(field, "the token you are using does not hold %q", sc)
		}
	}
	if expiresAt != nil && !expiresAt.After(now) {
		fs.Add("expires_at", "must be in the future")
	}
	if err := fs.Err(); err != nil {
		return "", Token{}, err
	}
	scopes = slices.Clone(scopes)
	slices.Sort(scopes)
	scopes = slices.Compact(scopes)

	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", Token{}, errorf("token: %w", err)
	}
	plaintext := TokenPrefix + base64.RawURLEncoding.EncodeToString(secret[:])
	t := Token{ID: kefu.NewID(), StaffID: staffID, Name: name, Prefix: plaintext[:8], Scopes: scopes, CreatedAt: now}
	var exp any
	if expiresAt != nil {
		e := expiresAt.UTC().Truncate(time.Microsecond)
		t.ExpiresAt, exp = &e, e
	}
	scopesJSON, _ := json.Marshal(scopes)
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (id, staff_id, name, prefix, token_hash, scopes, expires_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, t.ID, t.StaffID, t.Name, t.Prefix, hashToken(plaintext), string(scopesJSON), exp, now)
		if err != nil {
			return err
		}
		ch := map[string]audit.Change{
			"staff_id": {After: t.StaffID}, "name": {After: t.Name}, "prefix": {After: t.Prefix}, "scopes": {After: t.Scopes},
		}
		if t.ExpiresAt != nil {
			ch["expires_at"] = audit.Change{After: t.ExpiresAt.Format(time.RFC3339)}
		}
		return audit.Record(ctx, tx, now, audit.Entry{Action: "create", Entity: "api_token", EntityID: t.ID, Changes: ch})
	})
	if err != nil {
		return "", Token{}, errorf("create token: %w", err)
	}
	return plaintext, t, nil
}

const tokenCols = `id, staff_id, name, prefix, scopes, expires_at, last_used_at, revoked_at, created_at`

func scanToken(r interface{ Scan(...any) error }) (Token, error) {
	var t Token
	var scopes string
	var exp, used, revoked sql.NullTime
	if err := r.Scan(&t.ID, &t.StaffID, &t.Name, &t.Prefix, &scopes, &exp, &used, &revoked, &t.CreatedAt); err != nil {
		return t, err
	}
	t.CreatedAt = t.CreatedAt.UTC()
	if err := json.Unmarshal([]byte(scopes), &t.Scopes); err != nil {
		return t, fmt.Errorf("token %s scopes: %w", t.ID, err)
	}
	if t.Scopes == nil {
		t.Scopes = []string{}
	}
	t.ExpiresAt, t.LastUsedAt, t.RevokedAt = database.TimePtr(exp), database.TimePtr(used), database.TimePtr(revoked)
	return t, nil
}

// Authenticate returns the actor for an API token secret: its owner's
// role and departments, with Scopes and TokenID set. Unknown, revoked and
// expired tokens, and tokens of disabled staff, are Unauthorized.
func (s *Service) Authenticate(ctx context.Context, plaintext string) (kefu.Actor, error) {
	if !strings.HasPrefix(plaintext, TokenPrefix) || len(plaintext) != len(TokenPrefix)+43 {
		return kefu.Actor{}, kefu.Errorf(kefu.Unauthorized, "not a Kefu API token")
	}
	now := s.now()
	hash := hashToken(plaintext)
	t, ok := tokens.Get(tokenKey{s.DB, hash}, now)
	if !ok {
		var err error
		t, err = scanToken(s.DB.Read.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE token_hash = $1`, hash))
		if errors.Is(err, sql.ErrNoRows) {
			return kefu.Actor{}, kefu.Errorf(kefu.Unauthorized, "unknown API token")
		}
		if err != nil {
			return kefu.Actor{}, errorf("authenticate: %w", err)
		}
		tokens.Put(tokenKey{s.DB, hash}, t, now)
	}
	switch {
	case t.RevokedAt != nil:
		return kefu.Actor{}, kefu.Errorf(kefu.Unauthorized, "this API token was revoked")
	case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
		return kefu.Actor{}, kefu.Errorf(kefu.Unauthorized, "this API token expired at %s", t.ExpiresAt.Format(time.RFC3339))
	}
	a, err := s.Team.ActorFor(ctx, t.StaffID)
	if err != nil {
		return kefu.Actor{}, err // Unauthorized when the owner is disabled
	}
	a.Scopes, a.TokenID = t.Scopes, t.ID
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= lastUsedEvery {
		// The condition repeats the check so concurrent requests write once.
		_, err := s.DB.Write.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $1
			WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)`, now, t.ID, now.Add(-lastUsedEvery))
		if err != nil {
			return kefu.Actor{}, errorf("authenticate: %w", err)
		}
		tokens.Update(tokenKey{s.DB, hash}, func(t Token) Token {
			t.LastUsedAt = &now // no other write within lastUsedEvery
			return t
		})
	}
	return a, nil
}

// tokenCacheTTL is how long a token row read by Authenticate is reused.
// An API client sends many requests a second; without the cache each
// would start with the same query. Revoking a token takes effect at once
// on the instance that revoked it (RevokeToken evicts it) and within
// tokenCacheTTL on the others; expiry is checked on every request, and so
// is the owner's account, so disabling staff takes effect at once.
const tokenCacheTTL = 5 * time.Second

// tokens is the cache of token rows, keyed by store and token hash, so
// one cache serves every Service in the process.
var tokens = cache.New[tokenKey, Token](tokenCacheTTL)

type tokenKey struct {
	db   *database.DB
	hash string
}

// ListTokens returns the tokens of staffID, newest first; staffID "" lists
// everyone's (admins only). Staff may list their own, admins anyone's.
// Revoked and expired tokens are included.
func (s *Service) ListTokens(ctx context.Context, staffID string) ([]Token, error) {
	a := kefu.ActorFrom(ctx)
	if a.Kind != kefu.ActorStaff && a.Kind != kefu.ActorSystem {
		return nil, kefu.Errorf(kefu.Unauthorized, "sign in to see API tokens")
	}
	if (staffID == "" || staffID != a.ID) && !isAdmin(a) {
		return nil, kefu.Errorf(kefu.Forbidden, "only admins may see other staff members' API tokens")
	}
	q, args := `SELECT `+tokenCols+` FROM api_tokens ORDER BY id DESC`, []any{}
	if staffID != "" {
		if !isUUID(staffID) {
			return []Token{}, nil
		}
		q, args = `SELECT `+tokenCols+` FROM api_tokens WHERE staff_id = $1 ORDER BY id DESC`, []any{staffID}
	}
	rows, err := s.DB.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, errorf("list tokens: %w", err)
	}
	defer rows.Close()
	out := []Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, errorf("list tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken stops a token from working. Its owner or an admin may revoke
// it; revoking a revoked token changes nothing.
func (s *Service) RevokeToken(ctx context.Context, id string) (Token, error) {
	a := kefu.ActorFrom(ctx)
	if a.Kind != kefu.ActorStaff && a.Kind != kefu.ActorSystem {
		return Token{}, kefu.Errorf(kefu.Unauthorized, "sign in to revoke API tokens")
	}
	notFound := kefu.Errorf(kefu.NotFound, "no API token %q", id)
	if !isUUID(id) {
		return Token{}, notFound
	}
	var t Token
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		t, err = scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound
		}
		if err != nil {
			return err
		}
		if t.StaffID != a.ID && !isAdmin(a) {
			return notFound // others' tokens are not visible
		}
		if t.RevokedAt != nil {
			return nil
		}
		now := s.now()
		t.RevokedAt = &now
		if _, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE id = $2`, now, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, audit.Entry{Action: "revoke", Entity: "api_token", EntityID: id,
			Changes: map[string]audit.Change{"revoked": {Before: false, After: true}}})
	})
	if err != nil {
		return Token{}, errorf("revoke token: %w", err)
	}
	tokens.DeleteFunc(func(_ tokenKey, t Token) bool { return t.ID == id })
	return t, nil
}

// isAdmin reports whether a may manage other staff members' tokens: an
// admin, through a session or a token holding the admin scope.
func isAdmin(a kefu.Actor) bool { return a.CanAdmin() && a.HasScope(ScopeAdmin) }

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
