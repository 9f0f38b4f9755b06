package web

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/events"
)

// Presence is kept in the staff_presence table so that every instance
// shows the same: a staff member is online or away (their choice) while
// any console of theirs has been seen within offlineAfter, and offline
// after that. Consoles are seen on every request and every heartbeat of
// their live stream.
const (
	touchEvery   = 20 * time.Second // at most one write per staff member per instance
	offlineAfter = 75 * time.Second // three missed stream heartbeats
)

// Presence states.
const (
	Online  = "online"
	Away    = "away"
	Offline = "offline"
)

type presenceThrottle struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func newPresenceThrottle() *presenceThrottle {
	return &presenceThrottle{last: map[string]time.Time{}}
}

// due reports whether staffID's last_seen should be written now.
func (p *presenceThrottle) due(staffID string, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now.Sub(p.last[staffID]) < touchEvery {
		return false
	}
	p.last[staffID] = now
	return true
}

func (p *presenceThrottle) forget(staffID string) {
	p.mu.Lock()
	delete(p.last, staffID)
	p.mu.Unlock()
}

// touchPresence records that staffID's console is alive. A failure only
// costs an "offline" dot, so it is logged, not shown.
func (s *Server) touchPresence(ctx context.Context, staffID string) {
	now := s.Now()
	if !s.seen.due(staffID, now) {
		return
	}
	var before string
	_ = s.DB.Read.QueryRowContext(ctx, `SELECT status FROM staff_presence WHERE staff_id = $1 AND last_seen > $2`,
		staffID, now.Add(-offlineAfter)).Scan(&before)
	_, err := s.DB.Write.ExecContext(ctx, `INSERT INTO staff_presence (staff_id, status, last_seen) VALUES ($1, 'online', $2)
		ON CONFLICT (staff_id) DO UPDATE SET last_seen = excluded.last_seen`, staffID, now)
	if err != nil {
		slog.WarnContext(ctx, "web: presence", "err", err)
		return
	}
	if before == "" { // was offline: tell the others
		_ = s.Events.Publish(ctx, events.Event{Topic: events.Staff, Kind: "presence", By: staffID, Detail: Online})
	}
}

func (s *Server) clearPresence(ctx context.Context, staffID string) {
	s.seen.forget(staffID)
	if _, err := s.DB.Write.ExecContext(ctx, `DELETE FROM staff_presence WHERE staff_id = $1`, staffID); err != nil {
		slog.WarnContext(ctx, "web: presence", "err", err)
		return
	}
	_ = s.Events.Publish(ctx, events.Event{Topic: events.Staff, Kind: "presence", By: staffID, Detail: Offline})
}

// setPresence is the online/away switch.
func (s *Server) setPresence(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st := r.PostFormValue("status")
	if st != Online && st != Away {
		s.fail(w, r, kefu.Fieldf("status", "must be online or away"))
		return
	}
	id := kefu.ActorFrom(ctx).ID
	_, err := s.DB.Write.ExecContext(ctx, `INSERT INTO staff_presence (staff_id, status, last_seen) VALUES ($1, $2, $3)
		ON CONFLICT (staff_id) DO UPDATE SET status = excluded.status, last_seen = excluded.last_seen`, id, st, s.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	_ = s.Events.Publish(ctx, events.Event{Topic: events.Staff, Kind: "presence", By: id, Detail: st})
	render(w, r, http.StatusOK, presenceSwitch(st))
}

// presence returns the state of every staff member seen recently;
// anyone missing is offline.
func (s *Server) presence(ctx context.Context) (map[string]string, error) {
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT staff_id, status FROM staff_presence WHERE last_seen > $1`, s.Now().Add(-offlineAfter))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var id, st string
		if err := rows.Scan(&id, &st); err != nil {
			return nil, err
		}
		m[id] = st
	}
	return m, rows.Err()
}

func presenceOf(m map[string]string, id string) string {
	if st, ok := m[id]; ok {
		return st
	}
	return Offline
}

// teamFragment lists the colleagues online or away, for the sidebar; it
// re-fetches on presence events.
func (s *Server) teamFragment(w http.ResponseWriter, r *http.Request) {
	dir, err := s.directory(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	render(w, r, http.StatusOK, teamList(dir))
}
