package aftersales

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/shop"
)

// VoucherState is a voucher as the shop's checkout asks about it.
type VoucherState struct {
	Remedy
	CaseID  string `json:"case_id"`
	CaseKey string `json:"case_key"`
	Usable  bool   `json:"usable" doc:"Issued, not redeemed, not expired"`
}

// Voucher returns the voucher with code, for the shop's checkout to
// check before it grants the discount.
func (s *Service) Voucher(ctx context.Context, code string) (*VoucherState, error) {
	if !canRead(audit.ActorOf(ctx)) || audit.ActorOf(ctx).Kind == kefu.ActorCustomer {
		return nil, kefu.Errorf(kefu.Forbidden, "sign in as staff to look vouchers up")
	}
	return s.voucher(ctx, s.DB.Read, code)
}

func (s *Service) voucher(ctx context.Context, q database.Querier, code string) (*VoucherState, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	rs, err := remedies(ctx, q, `r.code = $1 AND r.kind = 'voucher'`, code)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, kefu.Errorf(kefu.NotFound, "no voucher %s", code)
	}
	v := &VoucherState{Remedy: rs[0], CaseID: rs[0].caseID}
	var number int64
	var shopID string
	if err := q.QueryRowContext(ctx, `SELECT number, COALESCE(CAST(shop_id AS text), '') FROM aftersales_cases WHERE id = $1`, v.CaseID).Scan(&number, &shopID); err != nil {
		return nil, fmt.Errorf("aftersales: voucher case: %w", err)
	}
	v.CaseKey = Key(number)
	today := calendar.DateOf(s.Now().In(s.zone(ctx, q, &Case{shopID: shopID})))
	last, err := calendar.ParseDate(v.ExpiresOn)
	v.Usable = v.State == Issued && err == nil && !last.Before(today)
	return v, nil
}

// RedeemVoucher marks a voucher used on an order of the shop: once, and
// only before it expires.
func (s *Service) RedeemVoucher(ctx context.Context, code, orderNumber string) (*VoucherState, error) {
	a := audit.ActorOf(ctx)
	if !a.CanWrite() {
		return nil, kefu.Errorf(kefu.Forbidden, "your role may not redeem vouchers")
	}
	orderNumber = shop.NormalizeNumber(orderNumber)
	if orderNumber == "" || len(orderNumber) > 100 {
		return nil, kefu.Fieldf("order_number", "is required: the order the voucher is used on")
	}
	var out *VoucherState
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		v, err := s.voucher(ctx, tx, code)
		if err != nil {
			return err
		}
		switch {
		case v.State == Redeemed:
			return &kefu.Error{Code: kefu.Conflict, Message: "voucher used", Fields: []kefu.FieldError{{Field: "code",
				Message: fmt.Sprintf("voucher %s was redeemed on order %s", v.Code, v.DoneRef)}}}
		case !v.Usable:
			return &kefu.Error{Code: kefu.Conflict, Message: "voucher expired", Fields: []kefu.FieldError{{Field: "code",
				Message: fmt.Sprintf("voucher %s expired after %s", v.Code, v.ExpiresOn)}}}
		}
		now := s.Now()
		res, err := tx.ExecContext(ctx, `UPDATE aftersales_remedies SET state = 'redeemed', done_at = $2, done_ref = $3 WHERE id = $1 AND state = 'issued'`,
			v.ID, now, orderNumber)
		if err != nil {
			return fmt.Errorf("aftersales: redeem: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return kefu.Errorf(kefu.Conflict, "voucher %s was redeemed meanwhile", v.Code)
		}
		v.State, v.DoneAt, v.DoneRef, v.Usable = Redeemed, &now, orderNumber, false
		c, err := s.get(kefu.WithActor(ctx, kefu.System), tx, v.CaseID)
		if err != nil {
			return err
		}
		st, err := loadSettings(ctx, tx)
		if err != nil {
			return err
		}
		out = v
		_, err = s.record(ctx, tx, st, &change{before: c, c: c, action: RedeemVoucher, step: c.Step,
			data: map[string]any{"code": v.Code, "order_number": orderNumber}})
		return err
	})
	return out, err
}
