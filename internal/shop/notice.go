package shop

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/database"
)

// Notice kinds.
const (
	NoticeConfirmation = "confirmation"
	NoticeDelay        = "delay"
)

// notify tells the customer of o about it (kind confirmation or delay,
// key what exactly; was the previous expected date of a moved delivery),
// once per kind and key, in their language. Without an email address or
// a mailbox the notice is recorded as skipped, and the change that caused
// it goes ahead.
func (s *Service) notify(ctx context.Context, tx *sql.Tx, sh *Shop, o *Order, kind, key, was string) error {
	var name, lang, to string
	err := tx.QueryRowContext(ctx, `SELECT c.name, c.language, COALESCE((SELECT i.value FROM customer_identities i
		WHERE i.customer_id = c.id AND i.kind = 'email' AND NOT i.failing ORDER BY i.created_at, i.id LIMIT 1), '')
		FROM customers c WHERE c.id = $1`, o.CustomerID).Scan(&name, &lang, &to)
	if err != nil {
		return fmt.Errorf("shop: notice recipient: %w", err)
	}
	if lang == "" {
		lang = sh.Language
	}
	subject, text := compose(sh, o, kind, was, name, lang)
	id := kefu.NewID()
	res, err := tx.ExecContext(ctx, `INSERT INTO order_notices (id, order_id, kind, key, language, to_address, subject, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (order_id, kind, key) DO NOTHING`, id, o.ID, kind, key, lang, to, subject, s.Now())
	if err != nil {
		return fmt.Errorf("shop: notice: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err // sent before
	}
	var skipped, mailID string
	switch {
	case to == "":
		skipped = "no email address"
	case s.Mail == nil:
		skipped = "mail is not set up"
	default:
		mailID, err = s.Mail(ctx, tx, to, subject, text)
		if kefu.IsCode(err, kefu.NotFound) {
			skipped, err = "no mailbox to send from", nil
		}
		if err != nil {
			return fmt.Errorf("shop: notice: %w", err)
		}
	}
	_, err = tx.ExecContext(ctx, `UPDATE order_notices SET mail_id = $2, skipped = $3 WHERE id = $1`, id, nullString(mailID), skipped)
	return err
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// compose writes a notice in lang ("en" or "zh-CN").
func compose(sh *Shop, o *Order, kind, was, name, lang string) (subject, text string) {
	var b strings.Builder
	en := lang == "en"
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	switch {
	case en && name != "":
		line("Hello %s,\n", name)
	case en:
		line("Hello,\n")
	case name != "":
		line("%s，您好：\n", name)
	default:
		line("您好：\n")
	}
	switch {
	case kind == NoticeConfirmation && en:
		subject = fmt.Sprintf("Order %s confirmed", o.Number)
		line("Thank you for your order %s; it is confirmed.\n", o.Number)
		for _, it := range o.Items {
			line("- %s × %d  %s %s", itemTitle(it), it.Quantity, o.Currency, formatMoney(it.price, o.Currency))
		}
		line("Total: %s %s\n", o.Currency, formatMoney(o.total, o.Currency))
		if o.ExpectedDelivery != "" {
			line("Expected delivery: %s", longDate(o.ExpectedDelivery, true))
		} else {
			line("We will tell you the expected delivery date when it ships.")
		}
	case kind == NoticeConfirmation:
		subject = fmt.Sprintf("订单 %s 已确认", o.Number)
		line("感谢您的购买！您的订单 %s 已确认。\n", o.Number)
		for _, it := range o.Items {
			line("- %s × %d  %s %s", itemTitle(it), it.Quantity, o.Currency, formatMoney(it.price, o.Currency))
		}
		line("合计：%s %s\n", o.Currency, formatMoney(o.total, o.Currency))
		if o.ExpectedDelivery != "" {
			line("预计送达：%s", longDate(o.ExpectedDelivery, false))
		} else {
			line("发货后我们会告知您预计送达日期。")
		}
	case was != "" && en:
		subject = fmt.Sprintf("Order %s: new expected delivery date", o.Number)
		line("The expected delivery of your order %s has moved from %s to %s. We are sorry for the wait.",
			o.Number, longDate(was, true), longDate(o.ExpectedDelivery, true))
	case was != "":
		subject = fmt.Sprintf("订单 %s 预计送达时间有变", o.Number)
		line("您的订单 %s 预计送达时间由%s调整为%s，给您带来不便，敬请谅解。", o.Number, longDate(was, false), longDate(o.ExpectedDelivery, false))
	case en:
		subject = fmt.Sprintf("Order %s is running late", o.Number)
		line("Your order %s was expected on %s and has not been delivered yet. We are checking with the carrier and will keep you informed.",
			o.Number, longDate(o.ExpectedDelivery, true))
	default:
		subject = fmt.Sprintf("订单 %s 尚未送达", o.Number)
		line("您的订单 %s 原预计于%s送达，目前尚未签收。我们正在与承运商核实，有进展会第一时间通知您。", o.Number, longDate(o.ExpectedDelivery, false))
	}
	for _, sp := range o.Shipments {
		if en {
			line("Tracking: %s %s (%s)", sp.Carrier, sp.TrackingNumber, strings.ReplaceAll(string(sp.Status), "_", " "))
		} else {
			line("物流：%s %s（%s）", sp.Carrier, sp.TrackingNumber, shipmentStatusZh[sp.Status])
		}
	}
	if en {
		line("\nIf you have any questions, reply to this mail.\n%s", sh.Name)
	} else {
		line("\n如有任何问题，请直接回复此邮件。\n%s", sh.Name)
	}
	return subject, b.String()
}

var shipmentStatusZh = map[ShipmentStatus]string{ShipPending: "待发货", InTransit: "运输中", OutForDelivery: "派送中",
	ShipDelivered: "已签收", Exception: "异常", Returned: "已退回"}

func itemTitle(it Item) string {
	if it.Name != "" {
		return it.Name
	}
	return it.SKU
}

// longDate writes a YYYY-MM-DD date for a customer.
func longDate(s string, en bool) string {
	d, err := calendar.ParseDate(s)
	if err != nil {
		return s
	}
	if en {
		return fmt.Sprintf("%d %s %d", d.Day, d.Month, d.Year)
	}
	return fmt.Sprintf("%d年%d月%d日", d.Year, int(d.Month), d.Day)
}

// lateWithin is how long after its expected date an undelivered order
// still gets a delay notice: orders found late long after (imported
// history) are left to the agents, who see them marked overdue.
const lateWithin = 72 * time.Hour

// SweepBatch is the most orders one SweepDelays call handles.
const SweepBatch = 200

// SweepDelays tells the customers of orders that have just passed their
// expected delivery date undelivered, once per expected date. It returns
// how many orders it handled; a full batch means there may be more.
func (s *Service) SweepDelays(ctx context.Context) (int, error) {
	now := s.Now()
	var n int
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		os, err := loadOrders(ctx, tx, `o.expected_by <= $1 AND o.expected_by > $2 AND o.delivered_at IS NULL
			AND o.status IN ('pending', 'paid', 'processing', 'shipped') AND o.delay_noticed <> o.expected_delivery AND s.notify_delay`,
			fmt.Sprintf("ORDER BY o.expected_by LIMIT %d", SweepBatch), now, now.Add(-lateWithin))
		if err != nil {
			return err
		}
		shops := map[string]*Shop{}
		for _, o := range os {
			sh := shops[o.Shop]
			if sh == nil {
				if sh, err = s.shop(ctx, tx, o.Shop); err != nil {
					return err
				}
				shops[o.Shop] = sh
			}
			if err := s.notify(ctx, tx, sh, o, NoticeDelay, "late:"+o.ExpectedDelivery, ""); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE orders SET delay_noticed = expected_delivery WHERE id = $1`, o.ID); err != nil {
				return err
			}
		}
		n = len(os)
		return nil
	})
	return n, err
}

// notices reads the notices sent about an order, with the state of their
// mail.
func notices(ctx context.Context, q database.Querier, orderID string) ([]Notice, error) {
	rows, err := q.QueryContext(ctx, `SELECT n.kind, n.key, n.language, n.to_address, n.subject, n.skipped, COALESCE(m.state, ''), n.created_at
		FROM order_notices n LEFT JOIN outbound_mail m ON m.id = n.mail_id WHERE n.order_id = $1 ORDER BY n.created_at, n.id`, orderID)
	if err != nil {
		return nil, fmt.Errorf("shop: notices: %w", err)
	}
	defer rows.Close()
	out := []Notice{}
	for rows.Next() {
		var n Notice
		var skipped, state string
		if err := rows.Scan(&n.Kind, &n.Key, &n.Language, &n.To, &n.Subject, &skipped, &state, &n.CreatedAt); err != nil {
			return nil, err
		}
		n.CreatedAt = n.CreatedAt.UTC()
		n.State, n.Detail = NoticeState(skipped, state)
		out = append(out, n)
	}
	return out, rows.Err()
}

// NoticeState is a notice's state from why it was skipped (if it was) and
// its mail's state (empty while the mail is not queued yet): skipped with
// the reason, pending, or the mail's state.
func NoticeState(skipped, mailState string) (state, detail string) {
	switch {
	case skipped != "":
		return "skipped", skipped
	case mailState == "":
		return "pending", ""
	default:
		return mailState, ""
	}
}
