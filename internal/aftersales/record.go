package aftersales

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"github.com/kefu-desk/kefu/internal/database"
	"slices"
	"strings"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// change is one action on a case as it is written: the case as it is
// after it, the step it led to, the tracking record's line and whether
// the customer is told.
type change struct {
	before       *Case // nil when the case is new
	c            *Case
	action       Action
	step         Step
	note         string
	data         map[string]any
	public       bool
	photos       []storedPhoto
	photoPurpose string
	items        bool // the items' counts changed
}

// record writes a change: the tracking record's line, its photos, the
// audit entry and the customer's notice, and tells open consoles. The
// case row itself is written by the caller (insert) or by commit.
func (s *Service) record(ctx context.Context, tx *sql.Tx, st *Settings, ch *change) (string, error) {
	a := audit.ActorOf(ctx)
	now := s.Now()
	c := ch.c
	stepID := kefu.NewID()
	if ch.data == nil {
		ch.data = map[string]any{}
	}
	if len(ch.photos) > 0 {
		ch.data["photos"] = len(ch.photos)
	}
	data, _ := json.Marshal(ch.data)
	_, err := tx.ExecContext(ctx, `INSERT INTO aftersales_steps (id, case_id, action, step, actor_kind, actor_id, actor_name, note, data, public, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, stepID, c.ID, string(ch.action), string(ch.step), string(a.Kind), a.ID,
		actorName(a), ch.note, string(data), ch.public, now)
	if err != nil {
		return "", fmt.Errorf("aftersales: step: %w", err)
	}
	for _, p := range ch.photos {
		_, err := tx.ExecContext(ctx, `INSERT INTO aftersales_photos (id, case_id, step_id, purpose, filename, content_type, size, sha256,
			by_customer, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, kefu.NewID(), c.ID, stepID, ch.photoPurpose,
			p.Filename, p.ContentType, p.size, p.sha256, a.Kind == kefu.ActorCustomer, now)
		if err != nil {
			return "", fmt.Errorf("aftersales: photo: %w", err)
		}
	}
	changes := map[string]audit.Change{}
	before := Step("")
	if ch.before != nil {
		before = ch.before.Step
	}
	audit.Diff(changes, "step", string(before), string(ch.step))
	for k, v := range ch.data {
		changes[k] = audit.Change{After: v}
	}
	if ch.note != "" {
		changes["note"] = audit.Change{After: ch.note}
	}
	if err := audit.Record(ctx, tx, now, audit.Entry{Action: "aftersales." + string(ch.action), Entity: "aftersales_case", EntityID: c.ID,
		TicketID: c.TicketID, CustomerID: c.CustomerID, Changes: changes}); err != nil {
		return "", err
	}
	if ch.public {
		if err := s.notify(ctx, tx, st, c, ch, stepID); err != nil {
			return "", err
		}
	}
	if s.Changed != nil {
		if err := s.Changed(ctx, tx, c.TicketID); err != nil {
			return "", err
		}
	}
	return stepID, nil
}

func actorName(a kefu.Actor) string {
	if a.Name == "" && a.Kind == kefu.ActorCustomer {
		return "customer"
	}
	return a.Name
}

// commit writes c over before (if before is still the stored version),
// then records the change.
func (s *Service) commit(ctx context.Context, tx *sql.Tx, st *Settings, ch *change) error {
	c, before := ch.c, ch.before
	now := s.Now()
	c.Step = ch.step
	if ends(c.Step) && !ends(before.Step) {
		c.ClosedAt, c.ClosedFrom = &now, before.Step
	}
	if !ends(c.Step) {
		c.ClosedAt = nil
	}
	c.Open = c.ClosedAt == nil
	res, err := tx.ExecContext(ctx, `UPDATE aftersales_cases SET step = $3, responsible = $4, owner_id = $5, refunded_minor = $6, detail = $7,
		closed_at = $8, version = version + 1, updated_at = $9 WHERE id = $1 AND version = $2`, c.ID, before.Version, string(c.Step),
		string(c.Responsible), database.Nullable(c.OwnerID), c.refunded, c.stored(), c.ClosedAt, now)
	if err != nil {
		return fmt.Errorf("aftersales: save case: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return staleError(before, err)
	}
	c.Version, c.UpdatedAt = before.Version+1, now
	if ch.items {
		for _, it := range c.Items {
			if _, err := tx.ExecContext(ctx, `UPDATE aftersales_case_items SET received = $3, passed = $4, failed = $5 WHERE case_id = $1 AND position = $2`,
				c.ID, it.Position, it.Received, it.Passed, it.Failed); err != nil {
				return fmt.Errorf("aftersales: items: %w", err)
			}
		}
	}
	_, err = s.record(ctx, tx, st, ch)
	return err
}

// ends reports whether a case at step st is closed.
func ends(st Step) bool { return st == Closed || st == Refused || st == Withdrawn }

// saveDetail writes the detail of a case written in the same transaction
// (its deadlines, once started).
func (s *Service) saveDetail(ctx context.Context, tx *sql.Tx, c *Case) error {
	if _, err := tx.ExecContext(ctx, `UPDATE aftersales_cases SET detail = $2 WHERE id = $1`, c.ID, c.stored()); err != nil {
		return fmt.Errorf("aftersales: save case: %w", err)
	}
	return nil
}

func staleError(before *Case, err error) error {
	e := &kefu.Error{Code: kefu.Stale, Message: fmt.Sprintf("case %s changed while saving; reload it and try again", before.Key), Current: before}
	if err != nil {
		e.Err = err
	}
	return e
}

// Upload is a photo arriving with a request.
type Upload = ticket.Upload

// photoTypes are the pictures a case accepts: what phones and cameras
// write. SVG is left out: it can carry script.
var photoTypes = []string{"image/jpeg", "image/png", "image/webp", "image/gif", "image/heic", "image/heif"}

const (
	maxPhotos     = 10
	maxPhotoBytes = 25 << 20
)

// uploads merges photos sent inline in JSON with streamed ones.
func uploads(files []ticket.File, ups []Upload) []Upload {
	out := append([]Upload{}, ups...)
	for _, f := range files {
		out = append(out, Upload{Filename: f.Filename, ContentType: f.ContentType, Content: strings.NewReader(string(f.Data))})
	}
	return out
}

func checkPhotos(fs *kefu.Fields, field string, ups []Upload) {
	if len(ups) > maxPhotos {
		fs.Add(field, "at most %d photos at once", maxPhotos)
	}
	for i, u := range ups {
		f := fmt.Sprintf("%s[%d]", field, i)
		if strings.TrimSpace(u.Filename) == "" || len(u.Filename) > 255 || strings.ContainsAny(u.Filename, "/\\\x00") {
			fs.Add(f+".filename", "must be a file name of 1 to 255 bytes without slashes")
		}
		ct := strings.ToLower(strings.TrimSpace(strings.Split(u.ContentType, ";")[0]))
		if !slices.Contains(photoTypes, ct) {
			fs.Add(f+".content_type", "must be a photo (JPEG, PNG, WebP, GIF or HEIC), not %q", u.ContentType)
		}
	}
}

// storedPhoto is a photo written to the blob store before the
// transaction that records it.
type storedPhoto struct {
	Upload
	sha256 string
	size   int64
}

// putPhotos streams photos into the blob store before the transaction,
// as ticket attachments are, so a large photo never holds the write lock.
func (s *Service) putPhotos(ctx context.Context, field string, ups []Upload) ([]storedPhoto, error) {
	out := make([]storedPhoto, 0, len(ups))
	for i, u := range ups {
		sum, size, err := s.Blobs.Put(ctx, u.Content, maxPhotoBytes)
		if kefu.IsCode(err, kefu.TooLarge) {
			return nil, &kefu.Error{Code: kefu.TooLarge, Message: "photo too large",
				Fields: []kefu.FieldError{{Field: fmt.Sprintf("%s[%d]", field, i), Message: fmt.Sprintf("%s is larger than %d MB", u.Filename, maxPhotoBytes>>20)}}}
		}
		if err != nil {
			return nil, err
		}
		u.ContentType = strings.ToLower(strings.TrimSpace(strings.Split(u.ContentType, ";")[0]))
		out = append(out, storedPhoto{Upload: u, sha256: sum, size: size})
	}
	return out, nil
}
