package aftersales

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"slices"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/shop"
)

// OpenPhoto returns a photo's metadata and content, if the actor may see
// its case.
func (s *Service) OpenPhoto(ctx context.Context, id string) (*Photo, io.ReadSeekCloser, error) {
	if !kefu.ValidID(id) {
		return nil, nil, kefu.Errorf(kefu.NotFound, "no photo %s", id)
	}
	var p Photo
	var caseID string
	err := s.DB.Read.QueryRowContext(ctx, `SELECT CAST(id AS text), CAST(case_id AS text), purpose, filename, content_type, size, sha256,
		by_customer, created_at FROM aftersales_photos WHERE id = $1`, id).Scan(&p.ID, &caseID, &p.Purpose, &p.Filename, &p.ContentType,
		&p.Size, &p.SHA256, &p.ByCustomer, &p.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, kefu.Errorf(kefu.NotFound, "no photo %s", id)
	}
	if err != nil {
		return nil, nil, err
	}
	if _, err := s.get(ctx, s.DB.Read, caseID); err != nil {
		return nil, nil, kefu.Errorf(kefu.NotFound, "no photo %s", id)
	}
	f, err := s.Blobs.Open(ctx, p.SHA256)
	if err != nil {
		return nil, nil, err
	}
	return &p, f, nil
}

// Eligibility checks a request of kind for reason against each item of
// an order (or only item, by id or SKU), as opening a case would: what
// an agent sees before opening one.
func (s *Service) Eligibility(ctx context.Context, order string, kind Kind, reasonKey, item string) ([]shop.ItemEligibility, error) {
	a := audit.ActorOf(ctx)
	if !a.CanWrite() && !a.SeesAllTickets() {
		return nil, kefu.Errorf(kefu.Forbidden, "sign in as staff to check eligibility")
	}
	var basis shop.Reason
	if reasonKey != "" {
		r, err := reason(ctx, s.DB.Read, reasonKey)
		if kefu.IsCode(err, kefu.NotFound) {
			return nil, kefu.Fieldf("reason", "no reason %q", reasonKey)
		}
		if err != nil {
			return nil, err
		}
		if !r.AppliesTo(kind) && slices.Contains(shop.Kinds, kind) {
			return nil, kefu.Fieldf("reason", "%q is not a reason for a %s", r.NameEn, kindWord(kind))
		}
		basis = r.Basis
	}
	return s.Shop.Eligibility(kefu.WithActor(ctx, kefu.System), "", order, kind, basis, item, s.Now())
}
