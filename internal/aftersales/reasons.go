package aftersales

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/shop"
)

// Reason is one entry of the editable list of why customers ask.
type Reason struct {
	Key    string `json:"key"`
	NameEn string `json:"name_en"`
	NameZh string `json:"name_zh"`
	// Basis is the shop reason a request for this reason is checked as
	// (shop.Check): personal reasons are refused on non-returnable goods,
	// faults need photos where the terms say so. "" checks as a fault that
	// needs no photos (a billing error, service attitude).
	Basis       shop.Reason `json:"basis" enum:"quality,damaged,wrong_item,not_as_described,not_received,size_fit,changed_mind," doc:"The shop reason it is checked as; empty: a fault that needs no photos"`
	Responsible Party       `json:"responsible" enum:"shop,carrier,supplier,customer," doc:"Who a request for this reason usually lies with; proposed when a case opens"`
	Kinds       []Kind      `json:"kinds" doc:"Kinds of case it applies to; empty: all"`
	Position    int         `json:"position"`
	Archived    bool        `json:"archived" doc:"No longer offered; old cases keep it"`
}

// Name is the reason's name in lang.
func (r Reason) Name(lang string) string {
	if lang == "zh-CN" && r.NameZh != "" {
		return r.NameZh
	}
	return r.NameEn
}

// AppliesTo reports whether the reason may be given for kind k.
func (r Reason) AppliesTo(k Kind) bool { return len(r.Kinds) == 0 || slices.Contains(r.Kinds, k) }

// Reasons returns the reason list, archived ones last.
func (s *Service) Reasons(ctx context.Context) ([]Reason, error) {
	return listReasons(ctx, s.DB.Read)
}

func listReasons(ctx context.Context, q database.Querier) ([]Reason, error) {
	rows, err := q.QueryContext(ctx, `SELECT key, name_en, name_zh, basis, responsible, kinds, position, archived
		FROM aftersales_reasons ORDER BY archived, position, key`)
	if err != nil {
		return nil, fmt.Errorf("aftersales: reasons: %w", err)
	}
	defer rows.Close()
	out := []Reason{}
	for rows.Next() {
		r, err := scanReason(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

func scanReason(row interface{ Scan(...any) error }) (*Reason, error) {
	var r Reason
	var kinds string
	if err := row.Scan(&r.Key, &r.NameEn, &r.NameZh, &r.Basis, &r.Responsible, &kinds, &r.Position, &r.Archived); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(kinds), &r.Kinds); err != nil {
		return nil, fmt.Errorf("aftersales: reason %s kinds: %w", r.Key, err)
	}
	if r.Kinds == nil {
		r.Kinds = []Kind{}
	}
	return &r, nil
}

func reason(ctx context.Context, q database.Querier, key string) (*Reason, error) {
	r, err := scanReason(q.QueryRowContext(ctx, `SELECT key, name_en, name_zh, basis, responsible, kinds, position, archived
		FROM aftersales_reasons WHERE key = $1`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kefu.Errorf(kefu.NotFound, "no reason %s", key)
	}
	if err != nil {
		return nil, fmt.Errorf("aftersales: reason: %w", err)
	}
	return r, nil
}

var reasonKey = regexp.MustCompile(`^[a-z0-9_]{1,40}$`)

// SaveReason creates or changes a reason. Reasons in use are archived
// rather than deleted, so old cases and reports keep their meaning.
func (s *Service) SaveReason(ctx context.Context, r Reason) (*Reason, error) {
	if !audit.ActorOf(ctx).CanAdmin() {
		return nil, kefu.Errorf(kefu.Forbidden, "only administrators may edit after-sales reasons")
	}
	r.NameEn, r.NameZh = strings.TrimSpace(r.NameEn), strings.TrimSpace(r.NameZh)
	var fs kefu.Fields
	if !reasonKey.MatchString(r.Key) {
		fs.Add("key", "must be 1 to 40 lower-case letters, digits or _")
	}
	if r.NameEn == "" || len([]rune(r.NameEn)) > 100 {
		fs.Add("name_en", "is required, at most 100 characters")
	}
	if len([]rune(r.NameZh)) > 100 {
		fs.Add("name_zh", "must be at most 100 characters")
	}
	if r.Basis != "" && !slices.Contains(shop.Reasons, r.Basis) {
		fs.Add("basis", "must be one of quality, damaged, wrong_item, not_as_described, not_received, size_fit, changed_mind, or empty")
	}
	if r.Responsible != "" && !slices.Contains(Parties, r.Responsible) {
		fs.Add("responsible", "must be shop, carrier, supplier, customer or empty")
	}
	if r.Kinds == nil {
		r.Kinds = []Kind{}
	}
	for i, k := range r.Kinds {
		if !slices.Contains(shop.Kinds, k) {
			fs.Add(fmt.Sprintf("kinds[%d]", i), "must be one of return, exchange, repair, refund_only, complaint")
		}
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	kinds, _ := json.Marshal(r.Kinds)
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var before any
		if cur, err := reason(ctx, tx, r.Key); err == nil {
			before = *cur
		} else if !kefu.IsCode(err, kefu.NotFound) {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO aftersales_reasons (key, name_en, name_zh, basis, responsible, kinds, position, archived)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (key) DO UPDATE SET name_en = $2, name_zh = $3, basis = $4,
			responsible = $5, kinds = $6, position = $7, archived = $8`,
			r.Key, r.NameEn, r.NameZh, string(r.Basis), string(r.Responsible), string(kinds), r.Position, r.Archived)
		if err != nil {
			return fmt.Errorf("aftersales: save reason: %w", err)
		}
		changes := map[string]audit.Change{}
		audit.Diff(changes, "reason", before, r)
		return audit.Record(ctx, tx, s.Now(), audit.Entry{Action: "save", Entity: "aftersales_reason", EntityID: r.Key, Changes: changes})
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}
