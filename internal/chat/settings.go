package chat

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/kefu-desk/kefu/internal/database"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// Hours settings: when the widget offers to chat.
const (
	// HoursSLA follows the calendar of the SLA policy a chat ticket gets,
	// so chat is offered exactly when its response targets run.
	HoursSLA      = "sla"
	HoursCalendar = "calendar" // a calendar chosen for chat
	HoursAlways   = "always"   // whenever an agent is online
)

// Settings are the widget's settings.
type Settings struct {
	Enabled    bool   `json:"enabled"`
	Hours      string `json:"hours" enum:"sla,calendar,always"`
	CalendarID string `json:"calendar_id,omitempty"`
	// AllowedOrigins are the sites (https://shop.example) whose pages may
	// embed the widget; empty allows any.
	AllowedOrigins []string  `json:"allowed_origins"`
	Version        int       `json:"version"`
	UpdatedAt      time.Time `json:"updated_at"`
	// IdentitySecret is what the shop signs shoppers' ids with. Only
	// admins see it (SettingsForAdmin).
	IdentitySecret string `json:"-"`
	tokenSecret    []byte
}

// ETagVersion is the version an ETag of the settings names.
func (s *Settings) ETagVersion() int { return s.Version }

// AllowsOrigin reports whether a page on origin may use the widget.
func (s *Settings) AllowsOrigin(origin string) bool {
	return len(s.AllowedOrigins) == 0 || slices.Contains(s.AllowedOrigins, strings.ToLower(origin))
}

// settingsTTL is how long an instance keeps the settings it read: another
// instance's edit is seen within it.
const settingsTTL = 5 * time.Second

type settingsCache struct {
	mu   sync.Mutex
	s    *Settings
	read time.Time
}

// Settings returns the widget settings, creating them (and their secrets)
// on first use.
func (s *Service) Settings(ctx context.Context) (*Settings, error) {
	now := s.Now()
	s.settings.mu.Lock()
	cur, read := s.settings.s, s.settings.read
	s.settings.mu.Unlock()
	if cur != nil && now.Sub(read) < settingsTTL {
		return cur, nil
	}
	st, err := s.loadSettings(ctx)
	if err != nil {
		return nil, err
	}
	s.settings.mu.Lock()
	s.settings.s, s.settings.read = st, now
	s.settings.mu.Unlock()
	return st, nil
}

// forgetSettings makes this instance read the settings, and what follows
// from them, afresh after an edit.
func (s *Service) forgetSettings() {
	s.settings.mu.Lock()
	s.settings.s = nil
	s.settings.mu.Unlock()
	s.avail.mu.Lock()
	s.avail.ok = false
	s.avail.mu.Unlock()
}

func newSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b[:])
}

func (s *Service) loadSettings(ctx context.Context) (*Settings, error) {
	read := func() (*Settings, error) {
		var st Settings
		var origins, token string
		err := s.DB.Write.QueryRowContext(ctx, `SELECT enabled, hours, COALESCE(CAST(calendar_id AS text), ''), allowed_origins,
			token_secret, identity_secret, version, updated_at FROM chat_settings WHERE id = 1`).
			Scan(&st.Enabled, &st.Hours, &st.CalendarID, &origins, &token, &st.IdentitySecret, &st.Version, &st.UpdatedAt)
		if err != nil {
			return nil, err
		}
		st.AllowedOrigins = strings.Fields(origins)
		st.UpdatedAt = st.UpdatedAt.UTC()
		if st.tokenSecret, err = hex.DecodeString(token); err != nil {
			return nil, fmt.Errorf("chat: stored token secret: %w", err)
		}
		return &st, nil
	}
	st, err := read()
	if !errors.Is(err, sql.ErrNoRows) {
		return st, err
	}
	// First use: every instance may race here; one row wins.
	if _, err := s.DB.Write.ExecContext(ctx, `INSERT INTO chat_settings (id, token_secret, identity_secret, updated_at)
		VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING`, newSecret(), newSecret(), s.Now()); err != nil {
		return nil, fmt.Errorf("chat: create settings: %w", err)
	}
	return read()
}

// SettingsInput is what an admin edits.
type SettingsInput struct {
	Enabled        bool     `json:"enabled"`
	Hours          string   `json:"hours" enum:"sla,calendar,always"`
	CalendarID     string   `json:"calendar_id,omitempty"`
	AllowedOrigins []string `json:"allowed_origins"`
}

// SaveSettings replaces the settings if they are still at version (0
// skips the check). Admins only.
func (s *Service) SaveSettings(ctx context.Context, version int, in SettingsInput) (*Settings, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var fs kefu.Fields
	switch in.Hours {
	case HoursSLA, HoursAlways:
		in.CalendarID = ""
	case HoursCalendar:
		if in.CalendarID == "" {
			fs.Add("calendar_id", "choose the calendar chat follows")
		} else if _, err := s.Calendars.Get(ctx, in.CalendarID); kefu.IsCode(err, kefu.NotFound) {
			fs.Add("calendar_id", "no such calendar: %s", in.CalendarID)
		} else if err != nil {
			return nil, err
		}
	default:
		fs.Add("hours", "must be sla, calendar or always")
	}
	origins := []string{}
	for i, o := range in.AllowedOrigins {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		norm, msg := normalizeOrigin(o)
		if msg != "" {
			fs.Add(fmt.Sprintf("allowed_origins[%d]", i), "%q %s", o, msg)
			continue
		}
		if !slices.Contains(origins, norm) {
			origins = append(origins, norm)
		}
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	cur, err := s.loadSettings(ctx)
	if err != nil {
		return nil, err
	}
	if version != 0 && version != cur.Version {
		return nil, &kefu.Error{Code: kefu.Stale, Message: fmt.Sprintf("the chat settings changed since version %d; they are now version %d", version, cur.Version), Current: cur}
	}
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE chat_settings SET enabled = $1, hours = $2, calendar_id = $3, allowed_origins = $4,
			version = version + 1, updated_at = $5 WHERE id = 1`, in.Enabled, in.Hours, database.Nullable(in.CalendarID), strings.Join(origins, " "), s.Now())
		if err != nil {
			return fmt.Errorf("chat: save settings: %w", err)
		}
		changes := map[string]audit.Change{}
		audit.Diff(changes, "enabled", cur.Enabled, in.Enabled)
		audit.Diff(changes, "hours", cur.Hours, in.Hours)
		audit.Diff(changes, "calendar_id", cur.CalendarID, in.CalendarID)
		audit.Diff(changes, "allowed_origins", cur.AllowedOrigins, origins)
		return audit.Record(ctx, tx, s.Now(), audit.Entry{Action: "update", Entity: "chat_settings", EntityID: "1", Changes: changes})
	})
	if err != nil {
		return nil, err
	}
	s.forgetSettings()
	return s.loadSettings(ctx)
}

// RotateIdentitySecret replaces the secret shops sign shoppers' ids with;
// signatures made with the old one stop working at once. Admins only.
func (s *Service) RotateIdentitySecret(ctx context.Context) (*Settings, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	if _, err := s.loadSettings(ctx); err != nil {
		return nil, err
	}
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE chat_settings SET identity_secret = $1, version = version + 1, updated_at = $2 WHERE id = 1`,
			newSecret(), s.Now()); err != nil {
			return fmt.Errorf("chat: rotate secret: %w", err)
		}
		// The secret itself stays out of the audit trail.
		return audit.Record(ctx, tx, s.Now(), audit.Entry{Action: "rotate_identity_secret", Entity: "chat_settings", EntityID: "1"})
	})
	if err != nil {
		return nil, err
	}
	s.forgetSettings()
	return s.loadSettings(ctx)
}

// SettingsForAdmin returns the settings with the identity secret, for
// admins only.
func (s *Service) SettingsForAdmin(ctx context.Context) (*Settings, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	return s.loadSettings(ctx)
}

func requireAdmin(ctx context.Context) error {
	a := audit.ActorOf(ctx)
	if !a.CanAdmin() || !a.HasScope("admin") {
		return kefu.Errorf(kefu.Forbidden, "only administrators may change the chat settings")
	}
	return nil
}

// normalizeOrigin reads "https://shop.example[:port]" the way browsers
// send it in the Origin header.
func normalizeOrigin(o string) (string, string) {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", "must be an origin such as https://shop.example (scheme and host, no path)"
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), ""
}

// PresenceWindow is how recently an agent's console must have been seen
// for the agent to count as online (three missed heartbeats of the
// console's stream).
const PresenceWindow = 75 * time.Second

// Availability says whether the widget offers a chat now.
type Availability struct {
	Enabled      bool
	Open         bool // within the hours chat follows
	AgentsOnline int
	// BackAt is the next opening when closed; nil when open, or when the
	// calendar has no opening ahead.
	BackAt *time.Time
}

// Available reports whether a visitor writing now reaches an agent.
func (a Availability) Available() bool { return a.Enabled && a.Open && a.AgentsOnline > 0 }

// availabilityTTL: a thousand widgets opening at once compute it once.
const availabilityTTL = 2 * time.Second

type availabilityCache struct {
	mu   sync.Mutex
	a    Availability
	read time.Time
	ok   bool
}

// Availability says whether chat is on, within its hours, and whether an
// agent is online; when closed, when it opens next.
func (s *Service) Availability(ctx context.Context) (Availability, error) {
	now := s.Now()
	s.avail.mu.Lock()
	if s.avail.ok && now.Sub(s.avail.read) < availabilityTTL && !now.Before(s.avail.read) {
		a := s.avail.a
		s.avail.mu.Unlock()
		return a, nil
	}
	s.avail.mu.Unlock()
	st, err := s.Settings(ctx)
	if err != nil {
		return Availability{}, err
	}
	a := Availability{Enabled: st.Enabled, Open: true}
	cal, err := s.hoursCalendar(ctx, st)
	if err != nil {
		return Availability{}, err
	}
	if cal != nil && !cal.IsOpen(now) {
		a.Open = false
		if next, ok := cal.NextOpen(now); ok {
			next = next.UTC()
			a.BackAt = &next
		}
	}
	err = s.DB.Read.QueryRowContext(ctx, `SELECT count(*) FROM staff_presence p JOIN staff s ON s.id = p.staff_id
		WHERE p.status = 'online' AND p.last_seen > $1 AND s.disabled_at IS NULL AND s.role IN ('admin', 'supervisor', 'agent')`,
		now.Add(-PresenceWindow)).Scan(&a.AgentsOnline)
	if err != nil {
		return Availability{}, fmt.Errorf("chat: agents online: %w", err)
	}
	s.avail.mu.Lock()
	s.avail.a, s.avail.read, s.avail.ok = a, now, true
	s.avail.mu.Unlock()
	return a, nil
}

// hoursCalendar is the calendar chat follows, or nil for "whenever an
// agent is online".
func (s *Service) hoursCalendar(ctx context.Context, st *Settings) (*calendar.Calendar, error) {
	id := ""
	switch st.Hours {
	case HoursCalendar:
		id = st.CalendarID
	case HoursSLA:
		if s.SLA == nil {
			return nil, nil
		}
		ps, err := s.SLA.Policies(ctx)
		if err != nil {
			return nil, err
		}
		// The policy a new chat ticket gets as it arrives.
		p := sla.Select(ps, sla.Subject{Ticket: &ticket.Ticket{Channel: "chat", Category: "other", Priority: ticket.Normal, Tags: []string{}}})
		if p != nil {
			id = p.CalendarID
		}
	}
	if id == "" || s.Calendars == nil {
		return nil, nil
	}
	cal, err := s.Calendars.Compiled(ctx, s.DB.Read, id)
	if kefu.IsCode(err, kefu.NotFound) {
		return nil, nil // deleted since: chat is not held shut by a missing calendar
	}
	return cal, err
}

// Location is the time zone chat's hours are kept in (UTC without a
// calendar), for transcripts.
func (s *Service) location(ctx context.Context) *time.Location {
	st, err := s.Settings(ctx)
	if err != nil {
		return time.UTC
	}
	if cal, err := s.hoursCalendar(ctx, st); err == nil && cal != nil {
		return cal.Location()
	}
	return time.UTC
}
