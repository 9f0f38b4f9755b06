package email

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/database"
)

// Mailbox is an address a shop receives customer mail at, with how Kefu
// fetches it (IMAP) and sends from it (SMTP). Passwords are stored in the
// database as given: whoever can read the database can read them.
type Mailbox struct {
	ID          string `json:"id"`
	Address     string `json:"address" doc:"The address customers write to, such as service@shop.cn"`
	DisplayName string `json:"display_name" doc:"The From name of mail sent from this mailbox"`
	IsDefault   bool   `json:"is_default" doc:"Used for staff notices and tickets without a mailbox"`
	Enabled     bool   `json:"enabled"`

	IMAP IMAPSettings `json:"imap"`
	SMTP SMTPSettings `json:"smtp"`

	Signature string `json:"signature" doc:"Appended to every reply sent from this mailbox"`
	// AckZh and AckEn are the acknowledgement templates sent on a new
	// ticket; {{key}}, {{subject}} and {{name}} are replaced. Empty sends
	// none in that language.
	AckZh string `json:"ack_zh" doc:"Acknowledgement in Chinese; {{key}}, {{subject}}, {{name}} are replaced; empty sends none"`
	AckEn string `json:"ack_en" doc:"Acknowledgement in English; same placeholders"`

	UIDValidity  uint32     `json:"uid_validity" readOnly:"true"`
	LastUID      uint32     `json:"last_uid" readOnly:"true"`
	LastPolledAt *time.Time `json:"last_polled_at,omitempty" readOnly:"true"`
	LastError    string     `json:"last_error" readOnly:"true"`
	Version      int        `json:"version" readOnly:"true"`
	CreatedAt    time.Time  `json:"created_at" readOnly:"true"`
	UpdatedAt    time.Time  `json:"updated_at" readOnly:"true"`
}

// IMAPSettings say where to fetch a mailbox's mail. An empty Host means
// mail arrives only through the SMTP receiver or the inbound API.
type IMAPSettings struct {
	Host     string `json:"host,omitempty"`
	Port     int    `json:"port,omitempty" doc:"Default 993 with tls, 143 otherwise"`
	Security string `json:"security,omitempty" enum:"tls,starttls,none" doc:"tls (implicit TLS), starttls, or none (loopback only)"`
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty" doc:"Stored in the database; never returned (shown as ******** when set)"`
	Folder   string `json:"folder,omitempty" doc:"Default INBOX"`
	// AfterImport is what happens to a message on the server once Kefu
	// has stored it: "flag" marks it read (\Seen), "move" moves it to
	// MoveTo. Nothing happens before it is stored.
	AfterImport string `json:"after_import,omitempty" enum:"flag,move"`
	MoveTo      string `json:"move_to,omitempty" doc:"Folder for after_import=move"`
}

// SMTPSettings say how to send from a mailbox.
type SMTPSettings struct {
	Host     string `json:"host,omitempty"`
	Port     int    `json:"port,omitempty" doc:"Default 587 with starttls, 465 with tls"`
	Security string `json:"security,omitempty" enum:"tls,starttls,none" doc:"starttls (required), tls (implicit), or none (loopback only)"`
	Username string `json:"username,omitempty" doc:"Empty sends without authentication"`
	Password string `json:"password,omitempty" doc:"Stored in the database; never returned"`
}

// Hidden is what a stored password reads as through the API; sending it
// back keeps the stored one.
const Hidden = "********"

// Redacted returns m with its passwords hidden.
func (m Mailbox) Redacted() Mailbox {
	if m.IMAP.Password != "" {
		m.IMAP.Password = Hidden
	}
	if m.SMTP.Password != "" {
		m.SMTP.Password = Hidden
	}
	return m
}

// Domain is the part of the address after @, used in Message-IDs.
func (m *Mailbox) Domain() string {
	_, d, ok := strings.Cut(m.Address, "@")
	if !ok || d == "" {
		return "kefu.invalid"
	}
	return strings.ToLower(d)
}

func (m *Mailbox) normalize(fs *kefu.Fields) {
	a, err := mail.ParseAddress(strings.TrimSpace(m.Address))
	if err != nil || !strings.Contains(a.Address, "@") {
		fs.Add("address", "must be an email address")
	} else {
		m.Address = strings.ToLower(a.Address)
	}
	if len(m.DisplayName) > 200 {
		fs.Add("display_name", "must be at most 200 bytes")
	}
	im := &m.IMAP
	checkServer(fs, "imap", &im.Host, &im.Security, &im.Port, "tls", 993, 143)
	if im.Folder == "" {
		im.Folder = "INBOX"
	}
	if im.AfterImport == "" {
		im.AfterImport = "flag"
	}
	switch im.AfterImport {
	case "flag":
		im.MoveTo = ""
	case "move":
		if strings.TrimSpace(im.MoveTo) == "" {
			fs.Add("imap.move_to", "is required when after_import is move")
		}
	default:
		fs.Add("imap.after_import", "must be flag or move")
	}
	if im.Host != "" && im.Username == "" {
		fs.Add("imap.username", "is required with an IMAP host")
	}
	sm := &m.SMTP
	checkServer(fs, "smtp", &sm.Host, &sm.Security, &sm.Port, "starttls", 465, 587)
	for field, tpl := range map[string]string{"ack_zh": m.AckZh, "ack_en": m.AckEn, "signature": m.Signature} {
		if len(tpl) > 10000 {
			fs.Add(field, "must be at most 10000 bytes")
		}
	}
}

// Mailboxes stores mailbox settings and the sender deny list.
type Mailboxes struct {
	DB  *database.DB
	Now func() time.Time
}

func requireAdmin(ctx context.Context) error {
	a := audit.ActorOf(ctx)
	if !a.CanAdmin() || !a.HasScope("admin") {
		return kefu.Errorf(kefu.Forbidden, "only administrators may configure mail")
	}
	return nil
}

const mailboxColumns = `CAST(id AS text), address, display_name, is_default, enabled, imap_host, imap_port, imap_security,
	imap_username, imap_password, imap_folder, after_import, move_to_folder, smtp_host, smtp_port, smtp_security,
	smtp_username, smtp_password, signature, ack_zh, ack_en, uid_validity, last_uid, last_polled_at, last_error,
	version, created_at, updated_at`

func scanMailbox(row interface{ Scan(...any) error }) (*Mailbox, error) {
	var m Mailbox
	var polled sql.NullTime
	var uv, lu int64
	err := row.Scan(&m.ID, &m.Address, &m.DisplayName, &m.IsDefault, &m.Enabled, &m.IMAP.Host, &m.IMAP.Port, &m.IMAP.Security,
		&m.IMAP.Username, &m.IMAP.Password, &m.IMAP.Folder, &m.IMAP.AfterImport, &m.IMAP.MoveTo, &m.SMTP.Host, &m.SMTP.Port,
		&m.SMTP.Security, &m.SMTP.Username, &m.SMTP.Password, &m.Signature, &m.AckZh, &m.AckEn, &uv, &lu, &polled,
		&m.LastError, &m.Version, &m.CreatedAt, &m.UpdatedAt)
	if err != nil {
		return nil, err
	}
	m.UIDValidity, m.LastUID = uint32(uv), uint32(lu)
	if polled.Valid {
		t := polled.Time.UTC()
		m.LastPolledAt = &t
	}
	return &m, nil
}

// List returns every mailbox, the default first, then by address.
func (s *Mailboxes) List(ctx context.Context) ([]*Mailbox, error) {
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT `+mailboxColumns+` FROM mailboxes ORDER BY is_default DESC, address`)
	if err != nil {
		return nil, fmt.Errorf("email: mailboxes: %w", err)
	}
	defer rows.Close()
	out := []*Mailbox{}
	for rows.Next() {
		m, err := scanMailbox(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Get returns one mailbox.
func (s *Mailboxes) Get(ctx context.Context, id string) (*Mailbox, error) {
	return getMailbox(ctx, s.DB.Read, id)
}

func getMailbox(ctx context.Context, q database.Querier, id string) (*Mailbox, error) {
	if !kefu.ValidID(id) {
		return nil, kefu.Errorf(kefu.NotFound, "no mailbox %s", id)
	}
	m, err := scanMailbox(q.QueryRowContext(ctx, `SELECT `+mailboxColumns+` FROM mailboxes WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kefu.Errorf(kefu.NotFound, "no mailbox %s", id)
	}
	return m, err
}

// ByAddress returns the mailbox with the address (any case), or NotFound.
func (s *Mailboxes) ByAddress(ctx context.Context, address string) (*Mailbox, error) {
	m, err := scanMailbox(s.DB.Read.QueryRowContext(ctx, `SELECT `+mailboxColumns+` FROM mailboxes WHERE address = $1`,
		strings.ToLower(strings.TrimSpace(address))))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kefu.Errorf(kefu.NotFound, "no mailbox %s", address)
	}
	return m, err
}

// Default returns the default mailbox, else the oldest enabled one, or
// NotFound when there is none.
func defaultMailbox(ctx context.Context, q database.Querier) (*Mailbox, error) {
	m, err := scanMailbox(q.QueryRowContext(ctx, `SELECT `+mailboxColumns+` FROM mailboxes WHERE enabled
		ORDER BY is_default DESC, created_at, id LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kefu.Errorf(kefu.NotFound, "no mailbox is configured")
	}
	return m, err
}

// Create stores a new mailbox.
func (s *Mailboxes) Create(ctx context.Context, m Mailbox) (*Mailbox, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var fs kefu.Fields
	m.normalize(&fs)
	if err := fs.Err(); err != nil {
		return nil, err
	}
	m.ID = kefu.NewID()
	now := s.Now()
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		if err := s.clearDefault(ctx, tx, m); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO mailboxes (id, address, display_name, is_default, enabled, imap_host, imap_port,
			imap_security, imap_username, imap_password, imap_folder, after_import, move_to_folder, smtp_host, smtp_port,
			smtp_security, smtp_username, smtp_password, signature, ack_zh, ack_en, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $22)`,
			m.ID, m.Address, m.DisplayName, m.IsDefault, m.Enabled, m.IMAP.Host, m.IMAP.Port, m.IMAP.Security, m.IMAP.Username,
			m.IMAP.Password, m.IMAP.Folder, m.IMAP.AfterImport, m.IMAP.MoveTo, m.SMTP.Host, m.SMTP.Port, m.SMTP.Security,
			m.SMTP.Username, m.SMTP.Password, m.Signature, m.AckZh, m.AckEn, now)
		if s.DB.Dialect.IsUniqueViolation(err) {
			return kefu.Fieldf("address", "a mailbox for %s already exists", m.Address)
		}
		if err != nil {
			return fmt.Errorf("email: create mailbox: %w", err)
		}
		return audit.Record(ctx, tx, now, audit.Entry{Action: "create", Entity: "mailbox", EntityID: m.ID,
			Changes: map[string]audit.Change{"mailbox": {After: m.Redacted()}}})
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, m.ID)
}

func (s *Mailboxes) clearDefault(ctx context.Context, tx *sql.Tx, m Mailbox) error {
	if !m.IsDefault {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE mailboxes SET is_default = false WHERE id <> $1 AND is_default`, m.ID)
	return err
}

// Update replaces a mailbox's settings if it is still at version (0 skips
// the check). A password given as Hidden keeps the stored one.
func (s *Mailboxes) Update(ctx context.Context, id string, version int, m Mailbox) (*Mailbox, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var fs kefu.Fields
	m.normalize(&fs)
	if err := fs.Err(); err != nil {
		return nil, err
	}
	now := s.Now()
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := getMailbox(ctx, tx, id)
		if err != nil {
			return err
		}
		if version != 0 && cur.Version != version {
			return &kefu.Error{Code: kefu.Stale, Message: fmt.Sprintf("mailbox changed since version %d; it is now version %d", version, cur.Version), Current: cur.Redacted()}
		}
		m.ID = id
		if m.IMAP.Password == Hidden {
			m.IMAP.Password = cur.IMAP.Password
		}
		if m.SMTP.Password == Hidden {
			m.SMTP.Password = cur.SMTP.Password
		}
		if err := s.clearDefault(ctx, tx, m); err != nil {
			return err
		}
		// A different server or folder has its own UIDs: start over
		// (Message-ID dedup keeps already stored mail from repeating).
		reset := cur.IMAP.Host != m.IMAP.Host || cur.IMAP.Username != m.IMAP.Username || cur.IMAP.Folder != m.IMAP.Folder
		_, err = tx.ExecContext(ctx, `UPDATE mailboxes SET address = $2, display_name = $3, is_default = $4, enabled = $5,
			imap_host = $6, imap_port = $7, imap_security = $8, imap_username = $9, imap_password = $10, imap_folder = $11,
			after_import = $12, move_to_folder = $13, smtp_host = $14, smtp_port = $15, smtp_security = $16, smtp_username = $17,
			smtp_password = $18, signature = $19, ack_zh = $20, ack_en = $21, updated_at = $22, version = version + 1,
			uid_validity = CASE WHEN $23 THEN 0 ELSE uid_validity END, last_uid = CASE WHEN $23 THEN 0 ELSE last_uid END
			WHERE id = $1`,
			id, m.Address, m.DisplayName, m.IsDefault, m.Enabled, m.IMAP.Host, m.IMAP.Port, m.IMAP.Security, m.IMAP.Username,
			m.IMAP.Password, m.IMAP.Folder, m.IMAP.AfterImport, m.IMAP.MoveTo, m.SMTP.Host, m.SMTP.Port, m.SMTP.Security,
			m.SMTP.Username, m.SMTP.Password, m.Signature, m.AckZh, m.AckEn, now, reset)
		if s.DB.Dialect.IsUniqueViolation(err) {
			return kefu.Fieldf("address", "a mailbox for %s already exists", m.Address)
		}
		if err != nil {
			return fmt.Errorf("email: update mailbox: %w", err)
		}
		return audit.Record(ctx, tx, now, audit.Entry{Action: "update", Entity: "mailbox", EntityID: id,
			Changes: map[string]audit.Change{"mailbox": {Before: cur.Redacted(), After: m.Redacted()}}})
	})
	if err != nil {
		return nil, err
	}
	return getMailbox(ctx, s.DB.Write, id)
}

// Delete removes a mailbox. Mail already received keeps its tickets; the
// logs lose the link.
func (s *Mailboxes) Delete(ctx context.Context, id string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := getMailbox(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM mailboxes WHERE id = $1`, id); err != nil {
			return fmt.Errorf("email: delete mailbox: %w", err)
		}
		return audit.Record(ctx, tx, s.Now(), audit.Entry{Action: "delete", Entity: "mailbox", EntityID: id,
			Changes: map[string]audit.Change{"mailbox": {Before: cur.Redacted()}}})
	})
}

// savePosition records how far a mailbox's IMAP folder has been imported,
// unless its settings changed meanwhile (version): the position belongs to
// the folder it was read from.
func (s *Mailboxes) savePosition(ctx context.Context, mb *Mailbox, validity, lastUID uint32, pollErr string) error {
	_, err := s.DB.Write.ExecContext(ctx, `UPDATE mailboxes SET uid_validity = $2, last_uid = $3, last_polled_at = $4, last_error = $5
		WHERE id = $1 AND version = $6`, mb.ID, int64(validity), int64(lastUID), s.Now(), pollErr, mb.Version)
	return err
}

// ETagVersion is the version an ETag of the mailbox names.
func (m Mailbox) ETagVersion() int { return m.Version }

// checkServer fills in and checks one server's host, security and port:
// an empty security takes def, an empty port the protocol's usual one for
// that security (tlsPort for implicit TLS, plainPort otherwise).
func checkServer(fs *kefu.Fields, prefix string, host, security *string, port *int, def string, tlsPort, plainPort int) {
	*host = strings.TrimSpace(*host)
	if *security == "" {
		*security = def
	}
	if *security != "tls" && *security != "starttls" && *security != "none" {
		fs.Add(prefix+".security", "must be tls, starttls or none")
	}
	if *port == 0 {
		*port = plainPort
		if *security == "tls" {
			*port = tlsPort
		}
	}
	if *port < 1 || *port > 65535 {
		fs.Add(prefix+".port", "must be a port number")
	}
}
