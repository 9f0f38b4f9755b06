package aftersales

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/shop"
)

// What customers read about their cases, in mails and in the portal.
// They are composed here rather than in the web layer because mails leave
// without a page around them, and the portal says the same in the same
// words.

// StepTitle is a case's step in a customer's words.
func StepTitle(lang string, c *Case) string {
	key := "step." + string(c.Step)
	if c.Step == Approved && c.Kind == shop.RefundOnly {
		key = "step.refund_pending"
	}
	return word(lang, key)
}

// StepName is a step in a customer's words.
func StepName(lang string, st Step) string { return word(lang, "step."+string(st)) }

// StepHelp says what happens next, or what the customer is to do.
func StepHelp(lang string, c *Case) string {
	switch c.Step {
	case Approved, ReturnArranged:
		if c.Return != nil && c.Return.Method == "pickup" {
			return word(lang, "help.pickup")
		}
		return word(lang, "help.send_back")
	case Consented:
		return word(lang, "help.send_back")
	case Estimated:
		return word(lang, "help.estimate")
	case Refused:
		if c.Refusal != nil {
			return explain(lang, c.Refusal.Explanation, c.Refusal.ExplanationZh)
		}
	case QCFailed:
		return word(lang, "help.qc_failed")
	}
	return word(lang, "help."+string(c.Step))
}

// KindName is a kind of case in a customer's words.
func KindName(lang string, k Kind) string { return word(lang, "kind."+string(k)) }

func explain(lang, en, zh string) string {
	if lang == "en" || zh == "" {
		return en
	}
	return zh
}

var words = map[string]map[string]string{
	"en": {
		"kind.return": "Return", "kind.exchange": "Exchange", "kind.repair": "Repair", "kind.refund_only": "Refund", "kind.complaint": "Complaint",
		"step.requested":        "We are reviewing your request",
		"step.refused":          "Not accepted",
		"step.approved":         "Approved: please send the items back",
		"step.return_arranged":  "Waiting for your parcel",
		"step.in_transit":       "On its way back to us",
		"step.received":         "Received: being inspected",
		"step.qc_failed":        "Did not pass inspection",
		"step.refund_pending":   "Refund on its way",
		"step.refunded":         "Refunded",
		"step.exchange_pending": "Passed inspection: replacement being prepared",
		"step.exchange_shipped": "Replacement sent",
		"step.assessed":         "Assessed: estimate to follow",
		"step.estimated":        "Estimate waiting for your answer",
		"step.consented":        "You agreed: please send the item",
		"step.declined":         "You declined the repair",
		"step.repaired":         "Repaired: being inspected",
		"step.inspected":        "Repaired and inspected: to be sent back",
		"step.shipped_back":     "Sent back to you",
		"step.replied":          "We replied; the investigation continues",
		"step.resolved":         "Resolved",
		"step.closed":           "Closed",
		"step.withdrawn":        "Withdrawn",
		"help.requested":        "We check it against the after-sales terms and reply soon.",
		"help.send_back":        "Send the items back as described below and enter the tracking number here.",
		"help.pickup":           "A courier will collect the parcel; have it packed with its tags and accessories.",
		"help.in_transit":       "We will tell you when it arrives.",
		"help.received":         "We inspect it and then settle your request.",
		"help.qc_failed":        "The items did not pass our inspection; we will contact you about what happens next.",
		"help.refund_pending":   "The refund goes to your original payment method.",
		"help.exchange_pending": "We will send the replacement soon and tell you its tracking number.",
		"help.estimate":         "Please tell us whether you agree to the repair, its cost and time.",
		"help.repaired":         "It is checked before we send it back.",
		"help.replied":          "We will resolve your complaint within the time promised.",
	},
	"zh-CN": {
		"kind.return": "退货", "kind.exchange": "换货", "kind.repair": "维修", "kind.refund_only": "退款", "kind.complaint": "投诉",
		"step.requested":        "正在审核您的申请",
		"step.refused":          "申请未通过",
		"step.approved":         "已同意，请寄回商品",
		"step.return_arranged":  "等待您寄回包裹",
		"step.in_transit":       "商品寄回途中",
		"step.received":         "已收到，质检中",
		"step.qc_failed":        "质检未通过",
		"step.refund_pending":   "退款处理中",
		"step.refunded":         "已退款",
		"step.exchange_pending": "质检通过，正在准备换货",
		"step.exchange_shipped": "换货已发出",
		"step.assessed":         "已评估，维修方案稍后发送",
		"step.estimated":        "维修报价待您确认",
		"step.consented":        "您已同意维修，请寄回商品",
		"step.declined":         "您已放弃维修",
		"step.repaired":         "已维修，质检中",
		"step.inspected":        "维修完成并通过质检，即将寄回",
		"step.shipped_back":     "已寄回给您",
		"step.replied":          "已初步回复，正在处理",
		"step.resolved":         "已解决",
		"step.closed":           "已结束",
		"step.withdrawn":        "已撤销",
		"help.requested":        "我们将根据售后条款进行审核，并尽快回复您。",
		"help.send_back":        "请按下方说明寄回商品，并在此填写运单号。",
		"help.pickup":           "快递员将上门取件，请将商品连同吊牌和配件包装好。",
		"help.in_transit":       "商品送达后我们会通知您。",
		"help.received":         "我们将进行质检，然后处理您的申请。",
		"help.qc_failed":        "商品未通过质检，我们会联系您说明后续处理。",
		"help.refund_pending":   "退款将退回您的原支付账户。",
		"help.exchange_pending": "我们会尽快寄出换货商品，并告知运单号。",
		"help.estimate":         "请告诉我们您是否同意维修方案、费用和时间。",
		"help.repaired":         "寄回前会先经过质检。",
		"help.replied":          "我们会在承诺的时间内解决您的投诉。",
	},
}

func word(lang, key string) string {
	if lang != "zh-CN" {
		lang = "en"
	}
	return words[lang][key]
}

// notify mails the customer about a change, in their language, once per
// step; without an email address or a mailbox the notice is recorded as
// skipped and the change goes ahead.
func (s *Service) notify(ctx context.Context, tx *sql.Tx, st *Settings, c *Case, ch *change, stepID string) error {
	var name, lang, to, shopName, shopLang string
	err := tx.QueryRowContext(ctx, `SELECT c.name, c.language, COALESCE((SELECT i.value FROM customer_identities i
		WHERE i.customer_id = c.id AND i.kind = 'email' AND NOT i.failing ORDER BY i.created_at, i.id LIMIT 1), ''),
		COALESCE((SELECT name FROM shops WHERE id = $2), ''), COALESCE((SELECT language FROM shops WHERE id = $2), '')
		FROM customers c WHERE c.id = $1`, c.CustomerID, database.Nullable(c.shopID)).Scan(&name, &lang, &to, &shopName, &shopLang)
	if err != nil {
		return fmt.Errorf("aftersales: notice recipient: %w", err)
	}
	if lang == "" {
		lang = shopLang
	}
	if lang != "en" {
		lang = "zh-CN"
	}
	subject, text := s.compose(ctx, tx, st, c, ch, lang, name, shopName)
	var skipped, mailID string
	switch {
	case to == "":
		skipped = "no email address"
	case s.Mail == nil:
		skipped = "mail is not set up"
	default:
		mailID, err = s.Mail(ctx, tx, c.TicketID, to, subject, text)
		if kefu.IsCode(err, kefu.NotFound) {
			skipped, err = "no mailbox to send from", nil
		}
		if err != nil {
			return fmt.Errorf("aftersales: notice: %w", err)
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO aftersales_notices (id, case_id, step_id, language, to_address, subject, mail_id, skipped, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, kefu.NewID(), c.ID, stepID, lang, to, subject, database.Nullable(mailID), skipped, s.Now())
	if err != nil {
		return fmt.Errorf("aftersales: notice: %w", err)
	}
	return nil
}

// compose writes the notice of change ch in lang.
func (s *Service) compose(ctx context.Context, tx *sql.Tx, st *Settings, c *Case, ch *change, lang, name, shopName string) (string, string) {
	en := lang == "en"
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	say := func(enText, zhText string, args ...any) {
		if en {
			line(enText, args...)
		} else {
			line(zhText, args...)
		}
	}
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
	kind := KindName(lang, c.Kind)
	subject := fmt.Sprintf("%s %s: %s", kind, c.Key, StepTitle(lang, c))
	if !en {
		subject = fmt.Sprintf("%s %s：%s", kind, c.Key, StepTitle(lang, c))
	}
	items := make([]string, len(c.Items))
	for i, it := range c.Items {
		title := it.Name
		if title == "" {
			title = it.SKU
		}
		items[i] = fmt.Sprintf("%s × %d", title, it.Quantity)
	}
	money := func(amount string) string { return c.Currency + " " + amount }
	loc := s.zone(ctx, tx, c)
	when := func(t time.Time) string { return longDate(t.In(loc), en) }
	switch ch.action {
	case Open:
		if c.OrderNumber != "" {
			say("We have received your %s request %s about order %s.", "我们已收到您关于订单 %[3]s 的%[1]s申请 %[2]s。", strings.ToLower(kind), c.Key, c.OrderNumber)
		} else {
			say("We have received your %s %s.", "我们已收到您的%[1]s %[2]s。", strings.ToLower(kind), c.Key)
		}
		for _, it := range items {
			line("- %s", it)
		}
		for _, e := range c.Eligibility {
			line("%s", explain(lang, e.Explanation, e.ExplanationZh))
		}
		if c.Kind == shop.Complaint {
			say("Our after-sales supervisor will contact you; you will have a first reply within %d hours.",
				"售后主管会与您联系，%d 小时内给您初步回复。", st.ComplaintReplyHours)
		} else {
			say("We will review it and get back to you soon.", "我们会尽快审核并回复您。")
		}
	case Refuse:
		say("We are sorry: your %s request %s cannot be accepted.", "很抱歉，您的%[1]s申请 %[2]s 未能通过。", strings.ToLower(kind), c.Key)
		if c.Refusal != nil {
			line("%s", explain(lang, c.Refusal.Explanation, c.Refusal.ExplanationZh))
		}
		if ch.note != "" {
			line("%s", ch.note)
		}
	case OverrideTerms:
		say("We have looked at your request %s again and will handle it as an exception.", "我们重新审核了您的申请 %s，将作为特例为您处理。", c.Key)
	case Approve:
		if c.Kind == shop.RefundOnly {
			s.refundLines(&b, c, en, money, when)
		} else {
			say("Your %s request %s is approved.", "您的%[1]s申请 %[2]s 已通过审核。", strings.ToLower(kind), c.Key)
			s.returnLines(&b, st, c, en)
		}
	case ArrangeReturn, RecordConsent:
		if ch.action == RecordConsent && !c.Consent.Accepted {
			say("You declined the repair of %s; we have closed nothing yet and are here if you change your mind.",
				"您已放弃 %s 的维修；如您改变主意，请随时联系我们。", c.Key)
			break
		}
		if ch.action == RecordConsent {
			say("Thank you for agreeing to the repair %s.", "感谢您同意维修方案 %s。", c.Key)
		}
		s.returnLines(&b, st, c, en)
	case ShipReturn:
		say("We have recorded the tracking number of your parcel for %s: %s %s.", "我们已记录您为 %s 寄回包裹的运单号：%s %s。",
			c.Key, c.Return.Carrier, c.Return.TrackingNumber)
	case Receive:
		say("Your parcel for %s has arrived:", "您为 %s 寄回的商品已收到：", c.Key)
		for _, it := range c.Items {
			if it.Received > 0 {
				line("- %s × %d", it.SKU, it.Received)
			}
		}
		if c.Kind == shop.Repair {
			say("We start the repair now.", "我们将开始维修。")
		} else {
			say("It will now be inspected.", "我们将进行质检。")
		}
	case Inspect:
		switch {
		case ch.step == QCFailed:
			say("The items of %s did not pass our inspection.", "很抱歉，%s 的商品未通过质检。", c.Key)
			if ch.note != "" {
				line("%s", ch.note)
			}
			say("We will contact you about what happens next.", "我们会与您联系，说明后续处理。")
		case c.Kind == shop.Return:
			say("The items of %s passed inspection.", "%s 的商品已通过质检。", c.Key)
			s.refundLines(&b, c, en, money, when)
		case c.Kind == shop.Exchange:
			say("The items of %s passed inspection; we are preparing your replacement.", "%s 的商品已通过质检，我们正在为您准备换货。", c.Key)
		default:
			say("Your item has been repaired and passed inspection; we will send it back soon.", "您的商品已维修完成并通过质检，即将寄回。")
		}
	case Reopen:
		say("We have reopened %s and are looking at it again.", "我们已重新开启 %s，正在重新处理。", c.Key)
	case Refund:
		r := lastPaid(c)
		say("We have refunded %s to your original payment method for %s.", "我们已将 %s 退回您的原支付账户（%s）。", money(r.Amount), c.Key)
		if r.Reference != "" {
			say("Reference: %s", "退款流水号：%s", r.Reference)
		}
	case ShipExchange:
		say("Your replacement for %s is on its way: %s × %d, %s %s.", "您的换货商品（%s）已发出：%s × %d，%s %s。",
			c.Key, c.Exchange.SKU, c.Exchange.Quantity, c.Exchange.Carrier, c.Exchange.TrackingNumber)
	case Assess:
		say("We have assessed your item for %s; a repair plan and estimate follow.", "我们已评估您的商品（%s），维修方案和报价稍后发送。", c.Key)
	case GiveEstimate:
		say("Repair plan for %s: %s", "%s 的维修方案：%s", c.Key, c.Estimate.Plan)
		say("Cost: %s", "费用：%s", money(c.Estimate.Cost))
		say("Expected time: %d working days after we receive the item.", "预计时间：收到商品后 %d 个工作日。", c.Estimate.Days)
		say("Please reply to tell us whether you agree.", "请回复告诉我们您是否同意。")
	case ShipBack:
		say("Your repaired item is on its way back: %s %s.", "您的维修商品已寄回：%s %s。", c.ShipBack.Carrier, c.ShipBack.TrackingNumber)
	case Reply:
		line("%s", c.Reply.Text)
	case Resolve:
		line("%s", c.Resolution.Text)
	case Close:
		if ch.before != nil && ch.before.Step == QCFailed {
			say("We have closed %s; the items that did not pass inspection are sent back to you.", "%s 已结束，未通过质检的商品将寄回给您。", c.Key)
		} else {
			say("Your case %s is closed. Thank you for your patience.", "您的售后单 %s 已结束，感谢您的耐心。", c.Key)
		}
	case Withdraw:
		say("Your request %s has been withdrawn.", "您的申请 %s 已撤销。", c.Key)
	case SetResponsible:
		line("%s", c.Guidance)
	case AddRemedy:
		r := c.Remedies[len(c.Remedies)-1]
		switch r.Kind {
		case Voucher:
			say("As an apology we give you a discount voucher worth %s: code %s, valid until %s.", "为表歉意，我们送您一张价值 %s 的优惠券：券码 %s，有效期至 %s。",
				money(r.Amount), r.Code, r.ExpiresOn)
		case Goodwill:
			say("As an apology we have added a goodwill credit of %s to your account.", "为表歉意，我们已为您的账户补偿 %s。", money(r.Amount))
		case RefundRemedy:
			s.refundLines(&b, c, en, money, when)
		case Replacement:
			say("We are sending you a replacement.", "我们将为您寄出补发商品。")
		}
		subject = fmt.Sprintf("%s %s", kind, c.Key)
	}
	if en {
		line("\nYou can follow your request and reply to this mail at any time.\n%s", shopName)
	} else {
		line("\n您可以随时查看申请进度，或直接回复此邮件。\n%s", shopName)
	}
	return subject, b.String()
}

func (s *Service) returnLines(b *strings.Builder, st *Settings, c *Case, en bool) {
	line := func(format string, args ...any) { fmt.Fprintf(b, format+"\n", args...) }
	r := c.Return
	if r != nil && r.Method == "pickup" {
		if en {
			line("A courier will collect the parcel on %s %s at: %s", r.PickupDate, r.PickupWindow, r.Address)
		} else {
			line("快递员将于 %s %s 上门取件，地址：%s", r.PickupDate, r.PickupWindow, r.Address)
		}
		return
	}
	if r != nil && r.Instructions != "" {
		line("%s", r.Instructions)
	} else if en {
		line("%s", st.SelfShipInstructions)
	} else {
		line("%s", explain("zh-CN", st.SelfShipInstructions, st.SelfShipInstructionsZh))
	}
	address := st.ReturnAddress
	if r != nil && r.Address != "" {
		address = r.Address
	}
	if address != "" {
		if en {
			line("Send to: %s", address)
		} else {
			line("寄回地址：%s", address)
		}
	}
}

func (s *Service) refundLines(b *strings.Builder, c *Case, en bool, money func(string) string, when func(time.Time) string) {
	for _, r := range c.Remedies {
		if r.Kind != RefundRemedy || r.State != Pending {
			continue
		}
		if en {
			fmt.Fprintf(b, "A refund of %s will be paid to your original payment method by %s.\n", money(r.Amount), when(*r.DueAt))
		} else {
			fmt.Fprintf(b, "退款 %s 将于%s前退回您的原支付账户。\n", money(r.Amount), when(*r.DueAt))
		}
	}
}

func lastPaid(c *Case) Remedy {
	for i := len(c.Remedies) - 1; i >= 0; i-- {
		if r := c.Remedies[i]; r.Kind == RefundRemedy && r.State == Paid {
			return r
		}
	}
	return Remedy{}
}

// zone is where a case's dates are told: its shop's zone, else China's.
func (s *Service) zone(ctx context.Context, q database.Querier, c *Case) *time.Location {
	var tz string
	if c.shopID != "" {
		_ = q.QueryRowContext(ctx, `SELECT timezone FROM shops WHERE id = $1`, c.shopID).Scan(&tz)
	}
	if tz == "" {
		tz = "Asia/Shanghai"
	}
	loc, problem := calendar.LoadZone(tz)
	if problem != "" {
		return time.UTC
	}
	return loc
}

func longDate(t time.Time, en bool) string {
	if en {
		return fmt.Sprintf("%d %s %d", t.Day(), t.Month(), t.Year())
	}
	return fmt.Sprintf("%d年%d月%d日", t.Year(), int(t.Month()), t.Day())
}
