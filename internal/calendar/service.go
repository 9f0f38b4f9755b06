package calendar

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/database"
)

// ChangeHook keeps what is computed with a calendar (SLA deadlines) in
// step with it: it runs inside the transaction of every edit, so an error
// undoes the edit.
type ChangeHook interface {
	CalendarChanged(ctx context.Context, tx *sql.Tx, id string) error
}

// Service stores calendars and hands out compiled ones.
type Service struct {
	DB    *database.DB
	Now   func() time.Time
	Hooks []ChangeHook

	// cache holds compiled calendars by id; an entry is used only while
	// its version is the stored one. A *Calendar is immutable, so sharing
	// it between goroutines is safe.
	cache sync.Map // id → cached
}

type cached struct {
	version int
	cal     *Calendar
}

// Import formats accepted by Import.
const (
	FormatHolidayCN = "holiday-cn"
	FormatICS       = "ics"
)

func requireAdmin(ctx context.Context) error {
	a := audit.ActorOf(ctx)
	if !a.CanAdmin() || !a.HasScope("admin") {
		return kefu.Errorf(kefu.Forbidden, "only administrators may change calendars")
	}
	return nil
}

// List returns every calendar, by name.
func (s *Service) List(ctx context.Context) ([]Record, error) { return listRecords(ctx, s.DB.Read) }

// Get returns one calendar.
func (s *Service) Get(ctx context.Context, id string) (*Record, error) {
	return getRecord(ctx, s.DB.Read, id)
}

// Compiled returns calendar id ready for arithmetic, from the cache when
// the stored version has not moved. q may be a transaction, so a change
// made in it is seen.
func (s *Service) Compiled(ctx context.Context, q database.Querier, id string) (*Calendar, error) {
	v, err := version(ctx, q, id)
	if err != nil {
		return nil, fmt.Errorf("calendar: %w", err)
	}
	if v == 0 {
		return nil, kefu.Errorf(kefu.NotFound, "no calendar %s", id)
	}
	if c, ok := s.cache.Load(id); ok && c.(cached).version == v {
		return c.(cached).cal, nil
	}
	r, err := getRecord(ctx, q, id)
	if err != nil {
		return nil, err
	}
	cal, err := New(r.Spec)
	if err != nil {
		return nil, fmt.Errorf("calendar %s: stored spec no longer valid: %w", id, err)
	}
	s.cache.Store(id, cached{version: r.Version, cal: cal})
	return cal, nil
}

// validate compiles spec and returns it in the canonical form Kefu
// writes, or field errors naming every problem.
func validate(spec Spec) (Spec, error) {
	var fs kefu.Fields
	spec.Name = strings.TrimSpace(spec.Name)
	if spec.Name == "" || len(spec.Name) > 200 {
		fs.Add("name", "is required, at most 200 bytes")
	}
	cal, err := spec.compile(fs, false)
	if err != nil {
		return Spec{}, err
	}
	return cal.Spec(), nil
}

// Create stores a new calendar.
func (s *Service) Create(ctx context.Context, spec Spec) (*Record, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	spec, err := validate(spec)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	r := &Record{ID: kefu.NewID(), Name: spec.Name, Spec: spec, Version: 1, CreatedAt: now, UpdatedAt: now}
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		if err := insertRecord(ctx, tx, r); err != nil {
			return s.nameConflict(err)
		}
		return audit.Record(ctx, tx, now, audit.Entry{Action: "create", Entity: "calendar", EntityID: r.ID,
			Changes: map[string]audit.Change{"spec": {After: spec}}})
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (s *Service) nameConflict(err error) error {
	if s.DB.Dialect.IsUniqueViolation(err) {
		return &kefu.Error{Code: kefu.Conflict, Message: "calendar name taken",
			Fields: []kefu.FieldError{{Field: "name", Message: "another calendar has this name"}}}
	}
	return fmt.Errorf("calendar: save: %w", err)
}

// Update replaces calendar id's spec if it is still at version (0 skips
// the check). A rejected spec leaves the stored calendar untouched.
func (s *Service) Update(ctx context.Context, id string, version int, spec Spec) (*Record, error) {
	return s.edit(ctx, id, version, func(*Spec) error { return nil }, &spec)
}

// EditOverrides sets the hours of the dates in set (an empty list closes
// a date) and removes the overrides of the dates in remove, leaving the
// rest of calendar id as it is.
func (s *Service) EditOverrides(ctx context.Context, id string, version int, set map[string][][]string, remove []string) (*Record, error) {
	return s.edit(ctx, id, version, func(sp *Spec) error {
		if sp.Overrides == nil {
			sp.Overrides = map[string][][]string{}
		}
		for _, d := range remove {
			delete(sp.Overrides, d)
		}
		for d, h := range set {
			if h == nil {
				h = [][]string{}
			}
			sp.Overrides[d] = h
		}
		return nil
	}, nil)
}

// Import adds the holidays of a file (format FormatHolidayCN or
// FormatICS) to calendar id as overrides; see Spec.ImportHolidayCN and
// Spec.ImportICS.
func (s *Service) Import(ctx context.Context, id string, version int, format string, data []byte) (*Record, error) {
	var apply func(*Spec) error
	switch format {
	case FormatHolidayCN:
		apply = func(sp *Spec) error { return sp.ImportHolidayCN(data) }
	case FormatICS:
		apply = func(sp *Spec) error { return sp.ImportICS(data) }
	default:
		return nil, kefu.Fieldf("format", "must be %s or %s", FormatHolidayCN, FormatICS)
	}
	return s.edit(ctx, id, version, apply, nil)
}

// edit applies change to the stored spec (or to replace, when given),
// validates and saves, all in one transaction with the change hooks.
func (s *Service) edit(ctx context.Context, id string, version int, change func(*Spec) error, replace *Spec) (*Record, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var out *Record
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := getRecord(ctx, tx, id)
		if err != nil {
			return err
		}
		if version != 0 && cur.Version != version {
			return &kefu.Error{Code: kefu.Stale, Message: fmt.Sprintf("calendar changed since version %d; it is now version %d", version, cur.Version), Current: cur}
		}
		spec := cur.Spec
		// Imports write into Overrides; keep cur's map as it was for the audit.
		spec.Overrides = maps.Clone(cur.Spec.Overrides)
		if replace != nil {
			spec = *replace
		}
		if err := change(&spec); err != nil {
			return err
		}
		if spec, err = validate(spec); err != nil {
			return err
		}
		next := *cur
		next.Name, next.Spec, next.Version, next.UpdatedAt = spec.Name, spec, cur.Version+1, s.Now()
		ok, err := updateRecord(ctx, tx, &next)
		if err != nil {
			return s.nameConflict(err)
		}
		if !ok {
			return kefu.Errorf(kefu.Stale, "calendar changed while saving; try again")
		}
		changes := map[string]audit.Change{}
		audit.Diff(changes, "spec", cur.Spec, next.Spec)
		if err := audit.Record(ctx, tx, next.UpdatedAt, audit.Entry{Action: "update", Entity: "calendar", EntityID: id, Changes: changes}); err != nil {
			return err
		}
		for _, h := range s.Hooks {
			if err := h.CalendarChanged(ctx, tx, id); err != nil {
				return err
			}
		}
		out = &next
		return nil
	})
	return out, err
}
