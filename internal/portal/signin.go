package portal

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/kefu-desk/kefu/internal/database"
	"math/big"
	"net/url"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// Channels a sign-in code goes out on.
const (
	ByEmail = customer.Email
	ByPhone = customer.Phone
)

// CodeRequest asks for a sign-in code.
type CodeRequest struct {
	Address string // an email address or a phone number on file
	Lang    string // the language of the message: en or zh-CN
	IP      string
}

// Challenge is a code on its way: what the sign-in page needs to ask for
// it. Every well-formed request gets one, whether or not the address is on
// file, so the answer tells nobody whose addresses Kefu holds.
type Challenge struct {
	ID        string
	Channel   string // email or phone
	Masked    string // where the code went, mostly hidden
	ExpiresAt time.Time
}

// RequestCode sends a six-digit code and a sign-in link to an address on
// file, by mail or (through the SMS queue) text message. An address
// nobody holds, a blocked customer's, or one that had its hourly share of
// codes gets no message but the same answer.
func (s *Service) RequestCode(ctx context.Context, in CodeRequest) (*Challenge, error) {
	now := s.Now()
	l := s.limits()
	if err := check(s.buckets().signIn, in.IP, now); err != nil {
		return nil, err
	}
	kind, norm, err := parseAddress(in.Address)
	if err != nil {
		return nil, err
	}
	if kind == ByEmail {
		ready, err := s.Mail.Ready(ctx)
		if err != nil {
			return nil, err
		}
		if !ready {
			return nil, kefu.Errorf(kefu.Unavailable, "sign-in by email is not set up yet; use your order number and email address instead")
		}
	}
	code, token := newCode(), newToken()
	// The hash is made for every request, so an address on file takes
	// no longer to answer than one that is not.
	hash, err := s.Hashes.HashPassword(code)
	if err != nil {
		return nil, err
	}
	ch := &Challenge{ID: kefu.NewID(), Channel: kind, Masked: mask(kind, norm), ExpiresAt: now.Add(l.CodeTTL)}
	var customerID string
	c, err := s.Customers.FindByIdentity(ctx, kind, norm)
	switch {
	case err == nil && !c.Blocked:
		customerID = c.ID
	case err != nil && !kefu.IsCode(err, kefu.NotFound):
		return nil, err
	}
	var recent int
	if err := s.DB.Read.QueryRowContext(ctx, `SELECT count(*) FROM portal_codes WHERE destination = $1 AND created_at > $2`,
		norm, now.Add(-time.Hour)).Scan(&recent); err != nil {
		return nil, fmt.Errorf("portal: codes: %w", err)
	}
	if recent >= l.CodesPerHour {
		return ch, nil
	}
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO portal_codes (id, customer_id, channel, destination, code_hash, link_hash, ip,
			created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			ch.ID, database.Nullable(customerID), kind, norm, hash, digest(token), in.IP, now, ch.ExpiresAt)
		if err != nil {
			return fmt.Errorf("portal: code: %w", err)
		}
		switch {
		case customerID == "":
			return nil
		case kind == ByEmail:
			return s.mailCode(ctx, tx, norm, in.Lang, code, token)
		}
		u := s.link("/portal/link", url.Values{"t": {token}})
		return s.sendSMS(ctx, tx, "code:"+ch.ID, SMS{To: norm, Purpose: "signin_code", Lang: langOr(in.Lang), CustomerID: customerID,
			Text: text(in.Lang, "code.sms", "code", code, "minutes", fmt.Sprint(int(l.CodeTTL.Minutes())), "link", withLink(in.Lang, "sms.link", u))})
	})
	if err != nil {
		return nil, err
	}
	return ch, nil
}

// Verify is a code typed on the sign-in page.
type Verify struct {
	Challenge string // Challenge.ID
	Code      string
	IP        string
	TimeZone  string // the browser's IANA zone, for times in the portal
}

// VerifyCode checks a code and starts a session. Each try counts against
// the code (CodeAttempts) and a wrong one against the network address
// (FailuresPerHour); a code works once.
func (s *Service) VerifyCode(ctx context.Context, in Verify) (*Session, error) {
	now := s.Now()
	l := s.limits()
	if err := s.checkFailures(ctx, in.IP, ""); err != nil {
		return nil, err
	}
	code := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, in.Code)
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return nil, kefu.Fieldf("code", "must be the 6 digits from the message")
	}
	if !kefu.ValidID(in.Challenge) {
		return nil, kefu.Fieldf("code", "has expired; ask for a new code")
	}
	var hash string
	var customerID sql.NullString
	var attempts int
	err := s.DB.Write.QueryRowContext(ctx, `UPDATE portal_codes SET attempts = attempts + 1
		WHERE id = $1 AND used_at IS NULL AND expires_at > $2 AND attempts < $3
		RETURNING code_hash, CAST(customer_id AS text), attempts`, in.Challenge, now, l.CodeAttempts).Scan(&hash, &customerID, &attempts)
	if errors.Is(err, sql.ErrNoRows) {
		s.recordFailure(ctx, "code", in.Challenge, in.IP)
		return nil, s.deadCode(ctx, in.Challenge)
	}
	if err != nil {
		return nil, fmt.Errorf("portal: verify: %w", err)
	}
	ok, err := s.Hashes.CheckHash(ctx, code, hash)
	if err != nil {
		return nil, fmt.Errorf("portal: verify: %w", err)
	}
	if !ok || !customerID.Valid {
		s.recordFailure(ctx, "code", in.Challenge, in.IP)
		if left := l.CodeAttempts - attempts; left > 0 {
			return nil, kefu.Fieldf("code", "is not the code we sent; %d tries left", left)
		}
		return nil, kefu.Fieldf("code", "is not the code we sent, and that was the last try; ask for a new code")
	}
	var sess *Session
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE portal_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL`, in.Challenge, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return kefu.Fieldf("code", "was already used; ask for a new code")
		}
		sess, err = s.startSession(ctx, tx, customerID.String, "", "code", in.IP, in.TimeZone, l.SessionTTL)
		return err
	})
	return sess, err
}

// deadCode says why a challenge takes no more tries.
func (s *Service) deadCode(ctx context.Context, id string) error {
	var used sql.NullTime
	var attempts int
	err := s.DB.Read.QueryRowContext(ctx, `SELECT used_at, attempts FROM portal_codes WHERE id = $1`, id).Scan(&used, &attempts)
	switch {
	case err == nil && used.Valid:
		return kefu.Fieldf("code", "was already used; ask for a new code")
	case err == nil && attempts >= s.limits().CodeAttempts:
		return kefu.Fieldf("code", "had too many wrong tries; ask for a new code")
	case err == nil, errors.Is(err, sql.ErrNoRows):
		return kefu.Fieldf("code", "has expired; ask for a new code")
	}
	return fmt.Errorf("portal: verify: %w", err)
}

// VerifyLink starts a session from the token of a sign-in link. The link
// and the code are one challenge: using either uses both up.
func (s *Service) VerifyLink(ctx context.Context, token, ip, timeZone string) (*Session, error) {
	now := s.Now()
	l := s.limits()
	if err := s.checkFailures(ctx, ip, ""); err != nil {
		return nil, err
	}
	var sess *Session
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var customerID string
		err := tx.QueryRowContext(ctx, `UPDATE portal_codes SET used_at = $2
			WHERE link_hash = $1 AND used_at IS NULL AND expires_at > $2 AND attempts < $3 AND customer_id IS NOT NULL
			RETURNING CAST(customer_id AS text)`, digest(token), now, l.CodeAttempts).Scan(&customerID)
		if errors.Is(err, sql.ErrNoRows) {
			return errDeadLink
		}
		if err != nil {
			return fmt.Errorf("portal: link: %w", err)
		}
		sess, err = s.startSession(ctx, tx, customerID, "", "link", ip, timeZone, l.SessionTTL)
		return err
	})
	if errors.Is(err, errDeadLink) {
		s.recordFailure(ctx, "code", "link", ip)
	}
	return sess, err
}

var errDeadLink = kefu.Fieldf("token", "this sign-in link has expired or was already used; ask for a new code")

// OrderSignIn opens one request with its order number (or its ticket
// number, KF-…) and the email address it was made with.
type OrderSignIn struct {
	Order    string
	Email    string
	IP       string
	TimeZone string
}

// OrderAccess starts a session limited to the most recent request about
// the order from that address. Failures count against the network
// address and the email address.
func (s *Service) OrderAccess(ctx context.Context, in OrderSignIn) (*Session, error) {
	var fs kefu.Fields
	norm, msg := customer.Normalize(customer.Email, in.Email)
	if msg != "" {
		fs.Add("email", "%s", msg)
	}
	order := strings.TrimSpace(in.Order)
	switch {
	case order == "":
		fs.Add("order", "is required")
	case len(order) > 100:
		fs.Add("order", "must be at most 100 characters")
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	if err := s.checkFailures(ctx, in.IP, norm); err != nil {
		return nil, err
	}
	ticketID, customerID, err := s.findByOrder(ctx, order, norm)
	if err != nil {
		return nil, err
	}
	if ticketID == "" {
		s.recordFailure(ctx, "order", norm, in.IP)
		return nil, kefu.Fieldf("order", "no request matches this order number and email address")
	}
	var sess *Session
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		sess, err = s.startSession(ctx, tx, customerID, ticketID, "order", in.IP, in.TimeZone, s.limits().OrderSessionTTL)
		return err
	})
	return sess, err
}

// findByOrder returns the newest ticket of the customer holding email
// with that order number or ticket key, or "" when none matches (or the
// customer is blocked).
func (s *Service) findByOrder(ctx context.Context, order, email string) (ticketID, customerID string, err error) {
	c, err := s.Customers.FindByIdentity(ctx, customer.Email, email)
	if kefu.IsCode(err, kefu.NotFound) {
		return "", "", nil
	}
	if err != nil || c.Blocked {
		return "", "", err
	}
	q := `SELECT CAST(id AS text) FROM tickets WHERE customer_id = $1 AND order_number = $2 ORDER BY id DESC LIMIT 1`
	arg := any(ticket.NormalizeOrderNumber(order))
	if strings.HasPrefix(strings.ToUpper(order), ticket.KeyPrefix) {
		n, ok := ticket.ParseKey(order)
		if !ok {
			return "", "", nil
		}
		q, arg = `SELECT CAST(id AS text) FROM tickets WHERE customer_id = $1 AND number = $2`, n
	}
	err = s.DB.Read.QueryRowContext(ctx, q, c.ID, arg).Scan(&ticketID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	}
	return ticketID, c.ID, err
}

// checkFailures refuses a sign-in from a network address, or for an
// email address (subject, when given), that failed too often in the last
// hour on any instance.
func (s *Service) checkFailures(ctx context.Context, ip, subject string) error {
	now := s.Now()
	l := s.limits()
	if err := check(s.buckets().signIn, ip, now); err != nil {
		return err
	}
	since := now.Add(-time.Hour)
	for _, c := range []struct{ col, v string }{{"ip", ip}, {"subject", subject}} {
		if c.v == "" {
			continue
		}
		var n int
		if err := s.DB.Read.QueryRowContext(ctx, `SELECT count(*) FROM portal_failures WHERE `+c.col+` = $1 AND at > $2`,
			c.v, since).Scan(&n); err != nil {
			return fmt.Errorf("portal: failures: %w", err)
		}
		if n < l.FailuresPerHour {
			continue
		}
		// The window reopens when the oldest failure in it leaves.
		var oldest time.Time
		if err := s.DB.Read.QueryRowContext(ctx, `SELECT at FROM portal_failures WHERE `+c.col+` = $1 AND at > $2 ORDER BY at LIMIT 1`,
			c.v, since).Scan(&oldest); err != nil {
			return fmt.Errorf("portal: failures: %w", err)
		}
		return limited(oldest.Add(time.Hour), "too many failed sign-in attempts; try again after %s", oldest.Add(time.Hour).UTC().Format("15:04 MST"))
	}
	return nil
}

// recordFailure notes a failed sign-in. It is written on its own, not in
// the failed request's transaction, so the count survives the failure;
// an error writing it is logged by nobody and costs only the count.
func (s *Service) recordFailure(ctx context.Context, kind, subject, ip string) {
	_, _ = s.DB.Write.ExecContext(ctx, `INSERT INTO portal_failures (id, kind, subject, ip, at) VALUES ($1, $2, $3, $4, $5)`,
		kefu.NewID(), kind, subject, ip, s.Now())
}

// parseAddress reads an email address or a phone number.
func parseAddress(s string) (kind, norm string, err error) {
	s = strings.TrimSpace(s)
	kind = ByPhone
	if strings.Contains(s, "@") {
		kind = ByEmail
	}
	if s == "" {
		return "", "", kefu.Fieldf("address", "is required")
	}
	norm, msg := customer.Normalize(kind, s)
	if msg != "" {
		return "", "", kefu.Fieldf("address", "%s", msg)
	}
	return kind, norm, nil
}

// mask hides most of an address: w•••@example.cn, +86•••••8000.
func mask(kind, norm string) string { return customer.Mask(kind, norm) }

// newCode is six decimal digits, uniformly random.
func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// newToken is 32 random bytes, URL-safe: link tokens and session cookies.
func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// digest is what is stored of a token: its SHA-256. A token is 256
// random bits, so a fast hash is enough; a code is not, and gets argon2id.
func digest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func langOr(l string) string {
	if l == "zh-CN" {
		return l
	}
	return "en"
}
