package shop

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database"
)

// Service reads and changes shops, their catalogue and their orders.
type Service struct {
	DB        *database.DB
	Now       func() time.Time
	Customers *customer.Service
	// Mail queues a mail to a customer in the caller's transaction and
	// returns its outbound log id; nil sends none (notices are then
	// recorded as skipped).
	Mail Mailer
}

// Mailer queues one mail to a customer inside tx (email.Outbound's
// NotifyCustomer). It answers kefu.NotFound when there is no mailbox to
// send from: the notice is then recorded as skipped rather than failing
// the change that caused it.
type Mailer func(ctx context.Context, tx *sql.Tx, to, subject, text string) (mailID string, err error)

// canRead: every signed-in role reads orders and products (agents answer
// questions about them, department staff act on them); customers and
// anonymous callers do not.
func canRead(a kefu.Actor) bool {
	return a.Kind == kefu.ActorSystem || (a.Kind == kefu.ActorStaff && a.Role != "")
}

// canWrite: the catalogue and orders mirror the shop's store, so only
// administrators (and the integrations they give tokens to) change them.
func canWrite(a kefu.Actor) bool { return a.CanAdmin() }

func requireRead(ctx context.Context) error {
	if !canRead(audit.ActorOf(ctx)) {
		return kefu.Errorf(kefu.Forbidden, "sign in as staff to see orders and products")
	}
	return nil
}

func requireWrite(ctx context.Context) error {
	if !canWrite(audit.ActorOf(ctx)) {
		return kefu.Errorf(kefu.Forbidden, "only administrators and shop integrations may change orders and products")
	}
	return nil
}

// ShopInput is what creates or changes a shop.
type ShopInput struct {
	Code               string `json:"code" maxLength:"40" doc:"Lower-case letters, digits and dashes; fixed once created"`
	Name               string `json:"name" maxLength:"200"`
	Timezone           string `json:"timezone" doc:"IANA zone such as Asia/Shanghai"`
	Currency           string `json:"currency" doc:"ISO 4217 code such as CNY"`
	Language           string `json:"language,omitempty" enum:"en,zh-CN," doc:"Default zh-CN"`
	Terms              Terms  `json:"terms,omitempty"`
	NotifyConfirmation *bool  `json:"notify_confirmation,omitempty" doc:"Default true"`
	NotifyDelay        *bool  `json:"notify_delay,omitempty" doc:"Default true"`
}

var codePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

func (in *ShopInput) validate(fs *kefu.Fields, creating bool) {
	in.Code, in.Name = strings.TrimSpace(in.Code), strings.TrimSpace(in.Name)
	if creating && !codePattern.MatchString(in.Code) {
		fs.Add("code", "must be 1 to 40 lower-case letters, digits or dashes, starting with a letter or digit")
	}
	if in.Name == "" || len([]rune(in.Name)) > 200 {
		fs.Add("name", "must be 1 to 200 characters")
	}
	if _, problem := calendar.LoadZone(in.Timezone); problem != "" {
		fs.Add("timezone", "%s", problem)
	}
	if msg := checkCurrency(in.Currency); msg != "" {
		fs.Add("currency", "%s", msg)
	}
	if in.Language == "" {
		in.Language = "zh-CN"
	}
	if in.Language != "en" && in.Language != "zh-CN" {
		fs.Add("language", "must be en or zh-CN")
	}
	in.Terms.validate(fs, "terms.")
}

// newSecret makes a webhook secret: 32 random bytes, hex, with a prefix
// secret scanners recognise.
func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "kfwh_" + hex.EncodeToString(b)
}

// CreateShop adds a shop and returns it with its webhook secret, which is
// shown this once.
func (s *Service) CreateShop(ctx context.Context, in ShopInput) (*Shop, string, error) {
	if !audit.ActorOf(ctx).CanAdmin() {
		return nil, "", kefu.Errorf(kefu.Forbidden, "only administrators may add shops")
	}
	var fs kefu.Fields
	in.validate(&fs, true)
	if err := fs.Err(); err != nil {
		return nil, "", err
	}
	secret, now, id := newSecret(), s.Now(), kefu.NewID()
	terms, _ := json.Marshal(in.Terms)
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO shops (id, code, name, timezone, currency, language, terms, notify_confirmation,
			notify_delay, webhook_secret, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)`,
			id, in.Code, in.Name, in.Timezone, in.Currency, in.Language, string(terms), in.NotifyConfirmation == nil || *in.NotifyConfirmation,
			in.NotifyDelay == nil || *in.NotifyDelay, secret, now)
		if s.DB.Dialect.IsUniqueViolation(err) {
			return &kefu.Error{Code: kefu.Conflict, Message: "shop exists", Fields: []kefu.FieldError{{Field: "code", Message: fmt.Sprintf("a shop %s exists already", in.Code)}}}
		}
		if err != nil {
			return fmt.Errorf("shop: create: %w", err)
		}
		changes := map[string]audit.Change{}
		audit.Diff(changes, "code", nil, in.Code)
		audit.Diff(changes, "name", nil, in.Name)
		audit.Diff(changes, "timezone", nil, in.Timezone)
		audit.Diff(changes, "currency", nil, in.Currency)
		audit.Diff(changes, "terms", nil, in.Terms)
		return audit.Record(ctx, tx, now, audit.Entry{Action: "create", Entity: "shop", EntityID: id, Changes: changes})
	})
	if err != nil {
		return nil, "", err
	}
	sh, err := s.shop(ctx, s.DB.Write, in.Code)
	return sh, secret, err
}

// ShopPatch changes the fields that are set.
type ShopPatch struct {
	Name               *string `json:"name,omitempty"`
	Timezone           *string `json:"timezone,omitempty"`
	Currency           *string `json:"currency,omitempty"`
	Language           *string `json:"language,omitempty" enum:"en,zh-CN"`
	Terms              *Terms  `json:"terms,omitempty" doc:"Replaces the default terms"`
	NotifyConfirmation *bool   `json:"notify_confirmation,omitempty"`
	NotifyDelay        *bool   `json:"notify_delay,omitempty"`
}

// UpdateShop applies p if the shop is still at version (0 skips the
// check).
func (s *Service) UpdateShop(ctx context.Context, code string, version int, p ShopPatch) (*Shop, error) {
	if !audit.ActorOf(ctx).CanAdmin() {
		return nil, kefu.Errorf(kefu.Forbidden, "only administrators may change shops")
	}
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := s.shop(ctx, tx, code)
		if err != nil {
			return err
		}
		if version != 0 && cur.Version != version {
			return &kefu.Error{Code: kefu.Stale, Message: fmt.Sprintf("shop %s changed since version %d; it is now version %d", cur.Code, version, cur.Version), Current: cur}
		}
		in := ShopInput{Code: cur.Code, Name: cur.Name, Timezone: cur.Timezone, Currency: cur.Currency, Language: cur.Language, Terms: cur.Terms}
		set(&in.Name, p.Name)
		set(&in.Timezone, p.Timezone)
		set(&in.Currency, p.Currency)
		set(&in.Language, p.Language)
		set(&in.Terms, p.Terms)
		confirm, delay := cur.NotifyConfirmation, cur.NotifyDelay
		set(&confirm, p.NotifyConfirmation)
		set(&delay, p.NotifyDelay)
		var fs kefu.Fields
		in.validate(&fs, false)
		if err := fs.Err(); err != nil {
			return err
		}
		changes := map[string]audit.Change{}
		audit.Diff(changes, "name", cur.Name, in.Name)
		audit.Diff(changes, "timezone", cur.Timezone, in.Timezone)
		audit.Diff(changes, "currency", cur.Currency, in.Currency)
		audit.Diff(changes, "language", cur.Language, in.Language)
		audit.Diff(changes, "terms", cur.Terms, in.Terms)
		audit.Diff(changes, "notify_confirmation", cur.NotifyConfirmation, confirm)
		audit.Diff(changes, "notify_delay", cur.NotifyDelay, delay)
		if len(changes) == 0 {
			return nil
		}
		now := s.Now()
		terms, _ := json.Marshal(in.Terms)
		if _, err := tx.ExecContext(ctx, `UPDATE shops SET name = $2, timezone = $3, currency = $4, language = $5, terms = $6,
			notify_confirmation = $7, notify_delay = $8, version = version + 1, updated_at = $9 WHERE id = $1`,
			cur.ID, in.Name, in.Timezone, in.Currency, in.Language, string(terms), confirm, delay, now); err != nil {
			return fmt.Errorf("shop: update: %w", err)
		}
		return audit.Record(ctx, tx, now, audit.Entry{Action: "update", Entity: "shop", EntityID: cur.ID, Changes: changes})
	})
	if err != nil {
		return nil, err
	}
	return s.shop(ctx, s.DB.Write, code)
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// secretGrace is how long the previous webhook secret keeps verifying
// after a rotation: time to deploy the new one to the store.
const secretGrace = 24 * time.Hour

// RotateSecret gives the shop a new webhook secret, shown this once; the
// old one verifies for another 24 hours.
func (s *Service) RotateSecret(ctx context.Context, code string) (*Shop, string, error) {
	if !audit.ActorOf(ctx).CanAdmin() {
		return nil, "", kefu.Errorf(kefu.Forbidden, "only administrators may rotate webhook secrets")
	}
	secret := newSecret()
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := s.shop(ctx, tx, code)
		if err != nil {
			return err
		}
		now := s.Now()
		if _, err := tx.ExecContext(ctx, `UPDATE shops SET previous_secret = webhook_secret, previous_secret_until = $2, webhook_secret = $3,
			version = version + 1, updated_at = $4 WHERE id = $1`, cur.ID, now.Add(secretGrace), secret, now); err != nil {
			return fmt.Errorf("shop: rotate secret: %w", err)
		}
		return audit.Record(ctx, tx, now, audit.Entry{Action: "rotate_secret", Entity: "shop", EntityID: cur.ID,
			Changes: map[string]audit.Change{"previous_secret_valid_until": {After: now.Add(secretGrace)}}})
	})
	if err != nil {
		return nil, "", err
	}
	sh, err := s.shop(ctx, s.DB.Write, code)
	return sh, secret, err
}

// Shops lists every shop by code.
func (s *Service) Shops(ctx context.Context) ([]*Shop, error) {
	if err := requireRead(ctx); err != nil {
		return nil, err
	}
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT `+shopColumns+` FROM shops ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("shop: list: %w", err)
	}
	defer rows.Close()
	out := []*Shop{}
	for rows.Next() {
		sh, err := scanShop(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sh)
	}
	return out, rows.Err()
}

// Shop returns a shop by code, or the only one when code is "".
func (s *Service) Shop(ctx context.Context, code string) (*Shop, error) {
	if err := requireRead(ctx); err != nil {
		return nil, err
	}
	return s.shop(ctx, s.DB.Read, code)
}

const shopColumns = `CAST(id AS text), code, name, timezone, currency, language, terms, notify_confirmation, notify_delay,
	previous_secret_until, version, created_at, updated_at`

func scanShop(row interface{ Scan(...any) error }) (*Shop, error) {
	var sh Shop
	var terms string
	var until sql.NullTime
	if err := row.Scan(&sh.ID, &sh.Code, &sh.Name, &sh.Timezone, &sh.Currency, &sh.Language, &terms, &sh.NotifyConfirmation,
		&sh.NotifyDelay, &until, &sh.Version, &sh.CreatedAt, &sh.UpdatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(terms), &sh.Terms); err != nil {
		return nil, fmt.Errorf("shop %s: terms: %w", sh.Code, err)
	}
	sh.CreatedAt, sh.UpdatedAt = sh.CreatedAt.UTC(), sh.UpdatedAt.UTC()
	sh.SecretRotatedUntil = database.TimePtr(until)
	return &sh, nil
}

// shop finds a shop by code; "" names the only shop, which is how a
// single-shop desk (the common case) leaves the code out everywhere.
func (s *Service) shop(ctx context.Context, q database.Querier, code string) (*Shop, error) {
	code = strings.TrimSpace(code)
	if code == "" {
		rows, err := q.QueryContext(ctx, `SELECT `+shopColumns+` FROM shops ORDER BY code LIMIT 2`)
		if err != nil {
			return nil, fmt.Errorf("shop: %w", err)
		}
		defer rows.Close()
		var found []*Shop
		for rows.Next() {
			sh, err := scanShop(rows)
			if err != nil {
				return nil, err
			}
			found = append(found, sh)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		switch len(found) {
		case 0:
			return nil, kefu.Fieldf("shop", "no shop is set up yet: create one first (POST /api/v1/shops or kefu shop create)")
		case 1:
			return found[0], nil
		}
		return nil, kefu.Fieldf("shop", "is required: Kefu mirrors several shops")
	}
	sh, err := scanShop(q.QueryRowContext(ctx, `SELECT `+shopColumns+` FROM shops WHERE code = $1`, code))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kefu.Errorf(kefu.NotFound, "no shop %s", code)
	}
	if err != nil {
		return nil, fmt.Errorf("shop: %w", err)
	}
	return sh, nil
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}
