package shop

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/calendar"
)

// Terms are after-sales terms as one level states them: the shop's
// defaults, a product's or a SKU's. An absent field (nil) inherits the
// level above; Resolve folds the levels into the terms that apply.
type Terms struct {
	ReturnDays   *int   `json:"return_days,omitempty" minimum:"0" maximum:"3650" doc:"Days in which a return may be asked for; 0: no returns"`
	ExchangeDays *int   `json:"exchange_days,omitempty" minimum:"0" maximum:"3650" doc:"Days in which an exchange may be asked for; 0: no exchanges"`
	RepairDays   *int   `json:"repair_days,omitempty" minimum:"0" maximum:"36500" doc:"Warranty: days in which repairs are done; 0: no repairs"`
	CountFrom    string `json:"count_from,omitempty" enum:"delivery,order," doc:"Whether the windows count from delivery or from the order date"`
	// NonReturnable refuses returns and exchanges for personal reasons
	// (changed mind, fit) while faults still qualify, as China's rules on
	// no-reason returns treat hygiene and custom-made goods.
	NonReturnable     *bool     `json:"non_returnable,omitempty" doc:"No returns or exchanges for personal reasons (changed mind, fit); faults still qualify"`
	NonReturnableNote string    `json:"non_returnable_note,omitempty" maxLength:"200" doc:"Why, in words for the customer, such as 贴身衣物 / intimate apparel"`
	PhotosFor         *[]Reason `json:"photos_for,omitempty" doc:"Reasons for which the customer must send photos; [] requires none"`
}

// Basis is what a window counts from.
type Basis string

const (
	FromDelivery Basis = "delivery"
	FromOrder    Basis = "order"
)

// Effective are the terms that apply to an item: every field known.
type Effective struct {
	ReturnDays        int      `json:"return_days"`
	ExchangeDays      int      `json:"exchange_days"`
	RepairDays        int      `json:"repair_days"`
	CountFrom         Basis    `json:"count_from" enum:"delivery,order"`
	NonReturnable     bool     `json:"non_returnable"`
	NonReturnableNote string   `json:"non_returnable_note"`
	PhotosFor         []Reason `json:"photos_for"`
}

// DefaultTerms apply where the shop states none: China's seven-day
// no-reason return, fifteen days to exchange, ninety days of repairs,
// counted from delivery, with photos for faults.
var DefaultTerms = Effective{ReturnDays: 7, ExchangeDays: 15, RepairDays: 90, CountFrom: FromDelivery,
	PhotosFor: []Reason{Quality, Damaged, WrongItem, NotAsDescribed}}

// Resolve applies levels in order (shop, product, SKU) over DefaultTerms.
func Resolve(levels ...Terms) Effective {
	e := DefaultTerms
	e.PhotosFor = slices.Clone(e.PhotosFor)
	for _, t := range levels {
		if t.ReturnDays != nil {
			e.ReturnDays = *t.ReturnDays
		}
		if t.ExchangeDays != nil {
			e.ExchangeDays = *t.ExchangeDays
		}
		if t.RepairDays != nil {
			e.RepairDays = *t.RepairDays
		}
		if t.CountFrom != "" {
			e.CountFrom = Basis(t.CountFrom)
		}
		if t.NonReturnable != nil {
			e.NonReturnable = *t.NonReturnable
			if !e.NonReturnable {
				e.NonReturnableNote = ""
			}
		}
		if t.NonReturnableNote != "" {
			e.NonReturnableNote = t.NonReturnableNote
		}
		if t.PhotosFor != nil {
			e.PhotosFor = slices.Clone(*t.PhotosFor)
		}
	}
	if e.PhotosFor == nil {
		e.PhotosFor = []Reason{}
	}
	return e
}

// validate adds a problem for every bad field under prefix.
func (t Terms) validate(fs *kefu.Fields, prefix string) {
	for _, d := range []struct {
		name string
		v    *int
		max  int
	}{{"return_days", t.ReturnDays, 3650}, {"exchange_days", t.ExchangeDays, 3650}, {"repair_days", t.RepairDays, 36500}} {
		if d.v != nil && (*d.v < 0 || *d.v > d.max) {
			fs.Add(prefix+d.name, "must be 0 to %d days", d.max)
		}
	}
	if t.CountFrom != "" && t.CountFrom != string(FromDelivery) && t.CountFrom != string(FromOrder) {
		fs.Add(prefix+"count_from", "must be delivery or order")
	}
	if len([]rune(t.NonReturnableNote)) > 200 {
		fs.Add(prefix+"non_returnable_note", "must be at most 200 characters")
	}
	if t.PhotosFor != nil {
		for i, r := range *t.PhotosFor {
			if !slices.Contains(Reasons, r) {
				fs.Add(fmt.Sprintf("%sphotos_for[%d]", prefix, i), "must be one of %s", joinReasons())
			}
		}
	}
}

// Kind is what a customer asks for after buying.
type Kind string

const (
	Return     Kind = "return"
	Exchange   Kind = "exchange"
	Repair     Kind = "repair"
	RefundOnly Kind = "refund_only" // a refund without sending anything back
	Complaint  Kind = "complaint"
)

// Kinds lists every kind of request.
var Kinds = []Kind{Return, Exchange, Repair, RefundOnly, Complaint}

// Reason is why the customer asks.
type Reason string

// Faults are the shop's or the carrier's doing; personal reasons are the
// customer's own.
const (
	Quality        Reason = "quality"          // a defect: open seams, torn fabric, a broken hook
	Damaged        Reason = "damaged"          // damaged in transport
	WrongItem      Reason = "wrong_item"       // another item, size or colour than ordered
	NotAsDescribed Reason = "not_as_described" // differs from the listing
	NotReceived    Reason = "not_received"     // never arrived
	SizeFit        Reason = "size_fit"         // personal: does not fit
	ChangedMind    Reason = "changed_mind"     // personal: no longer wanted
)

// Reasons lists every reason.
var Reasons = []Reason{Quality, Damaged, WrongItem, NotAsDescribed, NotReceived, SizeFit, ChangedMind}

// Personal reports whether r is the customer's own reason rather than a
// fault: what non-returnable goods refuse.
func (r Reason) Personal() bool { return r == SizeFit || r == ChangedMind }

func joinReasons() string {
	s := make([]string, len(Reasons))
	for i, r := range Reasons {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

// Outcome codes of Check.
const (
	Open          = "open"           // inside the window
	Closed        = "closed"         // the window has passed
	NotDelivered  = "not_delivered"  // counts from delivery, which has not happened
	NotOffered    = "not_offered"    // the terms allow none (0 days)
	NonReturnable = "non_returnable" // refused for a personal reason
)

// Eligibility says whether a request of a kind is inside its window, and
// explains it in words for the customer.
type Eligibility struct {
	Kind           Kind       `json:"kind" enum:"return,exchange,repair,refund_only,complaint"`
	Reason         Reason     `json:"reason,omitempty"`
	Eligible       bool       `json:"eligible"`
	Outcome        string     `json:"outcome" enum:"open,closed,not_delivered,not_offered,non_returnable"`
	CountFrom      Basis      `json:"count_from,omitempty" enum:"delivery,order,"`
	Days           int        `json:"days" doc:"The window's length in days"`
	From           string     `json:"from,omitempty" doc:"The day the window counts from (YYYY-MM-DD, shop's zone)"`
	LastDay        string     `json:"last_day,omitempty" doc:"The last day a request is accepted (YYYY-MM-DD, shop's zone)"`
	ClosesAt       *time.Time `json:"closes_at,omitempty" doc:"The instant the window closes: midnight after the last day in the shop's zone"`
	DaysLeft       int        `json:"days_left" doc:"Whole days after today still inside the window; 0 on the last day"`
	PhotosRequired bool       `json:"photos_required" doc:"The customer must send photos for this reason"`
	Explanation    string     `json:"explanation" doc:"In English, for the customer"`
	ExplanationZh  string     `json:"explanation_zh" doc:"In Simplified Chinese, for the customer"`
}

// Explain returns the explanation in lang ("zh-CN" or "en").
func (e Eligibility) Explain(lang string) string {
	if lang == "en" {
		return e.Explanation
	}
	return e.ExplanationZh
}

// Request is what Check decides about.
type Request struct {
	Kind   Kind
	Reason Reason // "" when not yet known
	Terms  Effective
	// OrderedAt and DeliveredAt (nil: not yet) are the item's; Loc is the
	// shop's zone, in which days begin and end.
	OrderedAt   time.Time
	DeliveredAt *time.Time
	Loc         *time.Location
	Now         time.Time
}

// Check decides whether the request is inside its window at r.Now. A
// window of N days from a day D closes at the end of D+N in the shop's
// zone: goods delivered on 3 May with seven days to return may be
// returned until 10 May inclusive. It is a pure function.
func Check(r Request) Eligibility {
	loc := r.Loc
	if loc == nil {
		loc = time.UTC
	}
	today := calendar.DateOf(r.Now.In(loc))
	e := Eligibility{Kind: r.Kind, Reason: r.Reason}
	w := wording{today: today}
	if r.Kind == Complaint {
		e.Eligible, e.Outcome = true, Open
		e.Explanation, e.ExplanationZh = "Complaints are accepted at any time.", "投诉不受时限限制，随时受理。"
		return e.withPhotos(r)
	}
	days := r.Terms.ReturnDays
	switch r.Kind {
	case Exchange:
		days = r.Terms.ExchangeDays
	case Repair:
		days = r.Terms.RepairDays
	}
	e.Days, e.CountFrom = days, r.Terms.CountFrom
	if r.Kind == RefundOnly && r.DeliveredAt == nil {
		e.Eligible, e.Outcome = true, Open
		e.Explanation = "A refund without return can be asked for: the order has not been delivered yet."
		e.ExplanationZh = "订单尚未签收，可申请仅退款。"
		return e.withPhotos(r)
	}
	if days == 0 {
		e.Outcome = NotOffered
		e.Explanation = fmt.Sprintf("%s are not offered for this item.", w.kindEn(r.Kind))
		e.ExplanationZh = fmt.Sprintf("此商品不提供%s。", w.kindZh(r.Kind))
		return e
	}
	refusesPersonal := r.Terms.NonReturnable && r.Kind != Repair
	if refusesPersonal && r.Reason.Personal() {
		e.Outcome = NonReturnable
		note, noteZh := "", ""
		if n := r.Terms.NonReturnableNote; n != "" {
			note, noteZh = " ("+n+")", "（"+n+"）"
		}
		e.Explanation = fmt.Sprintf("This item cannot be returned or exchanged for a personal reason%s; a quality problem, damage in transport or a wrong item still qualifies.", note)
		e.ExplanationZh = fmt.Sprintf("此商品%s不支持因个人原因退换；如有质量问题、运输损坏或发错商品，仍可申请。", noteZh)
		return e
	}
	var from time.Time
	switch {
	case r.Terms.CountFrom == FromOrder:
		from = r.OrderedAt
	case r.DeliveredAt != nil:
		from = *r.DeliveredAt
	default:
		e.Outcome = NotDelivered
		e.Explanation = fmt.Sprintf("%s count from delivery, and this order has not been delivered yet.", w.kindEn(r.Kind))
		e.ExplanationZh = fmt.Sprintf("%s自签收之日起计算，本订单尚未签收。", w.kindZh(r.Kind))
		return e
	}
	start := calendar.DateOf(from.In(loc))
	last := start.AddDays(days)
	closes := time.Date(last.Year, last.Month, last.Day+1, 0, 0, 0, 0, loc).UTC()
	e.From, e.LastDay, e.ClosesAt = start.String(), last.String(), &closes
	e.Eligible = !last.Before(today)
	basisEn, basisZh, eventEn, eventZh := "delivery", "签收", "delivered", "签收"
	if r.Terms.CountFrom == FromOrder {
		basisEn, basisZh, eventEn, eventZh = "the order date", "下单", "placed", "下单"
	}
	if !e.Eligible {
		e.Outcome = Closed
		e.Explanation = fmt.Sprintf("%s close %s after %s; this order was %s on %s, so the last day was %s.",
			w.kindEn(r.Kind), plural(days, "day"), basisEn, eventEn, w.en(start), w.en(last))
		e.ExplanationZh = fmt.Sprintf("%s须在%s后%d天内申请；本订单于%s%s，最后一天是%s。",
			w.kindZh(r.Kind), basisZh, days, w.zh(start), eventZh, w.zh(last))
		return e
	}
	e.Outcome = Open
	e.DaysLeft = daysBetween(today, last)
	left, leftZh := fmt.Sprintf("%s left", plural(e.DaysLeft, "day")), fmt.Sprintf("还剩%d天", e.DaysLeft)
	if e.DaysLeft == 0 {
		left, leftZh = "today is the last day", "今天是最后一天"
	}
	e.Explanation = fmt.Sprintf("%s are open until %s, %s after %s (%s); %s.",
		w.kindEn(r.Kind), w.en(last), plural(days, "day"), basisEn, w.en(start), left)
	e.ExplanationZh = fmt.Sprintf("%s可申请至%s：%s（%s）后%d天内，%s。",
		w.kindZh(r.Kind), w.zh(last), basisZh, w.zh(start), days, leftZh)
	if refusesPersonal {
		note, noteZh := "", ""
		if n := r.Terms.NonReturnableNote; n != "" {
			note, noteZh = " ("+n+")", "（"+n+"）"
		}
		e.Explanation += fmt.Sprintf(" Only for a fault: this item cannot be returned or exchanged for a personal reason%s.", note)
		e.ExplanationZh += fmt.Sprintf("此商品%s仅限质量问题、运输损坏或发错商品，不支持因个人原因退换。", noteZh)
	}
	return e.withPhotos(r)
}

// withPhotos completes an eligible answer with whether the reason needs
// photos; a refused request needs none.
func (e Eligibility) withPhotos(r Request) Eligibility {
	e.PhotosRequired = r.Reason != "" && slices.Contains(r.Terms.PhotosFor, r.Reason)
	if e.PhotosRequired {
		e.Explanation += " Please attach photos of the problem."
		e.ExplanationZh += "请附上问题照片。"
	}
	return e
}

// Windows checks every kind that has a window (return, exchange, repair)
// for an item whose reason is not known yet, as the console shows them.
func Windows(terms Effective, orderedAt time.Time, deliveredAt *time.Time, loc *time.Location, now time.Time) []Eligibility {
	out := make([]Eligibility, 0, 3)
	for _, k := range []Kind{Return, Exchange, Repair} {
		out = append(out, Check(Request{Kind: k, Terms: terms, OrderedAt: orderedAt, DeliveredAt: deliveredAt, Loc: loc, Now: now}))
	}
	return out
}

func daysBetween(a, b calendar.Date) int {
	ta := time.Date(a.Year, a.Month, a.Day, 12, 0, 0, 0, time.UTC)
	tb := time.Date(b.Year, b.Month, b.Day, 12, 0, 0, 0, time.UTC)
	return int(tb.Sub(ta).Hours() / 24)
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// wording writes dates and kinds for customers, leaving out the year of
// dates in the current one.
type wording struct{ today calendar.Date }

func (w wording) en(d calendar.Date) string {
	s := fmt.Sprintf("%d %s", d.Day, d.Month)
	if d.Year != w.today.Year {
		s += fmt.Sprintf(" %d", d.Year)
	}
	return s
}

func (w wording) zh(d calendar.Date) string {
	s := fmt.Sprintf("%d月%d日", int(d.Month), d.Day)
	if d.Year != w.today.Year {
		s = fmt.Sprintf("%d年", d.Year) + s
	}
	return s
}

func (wording) kindEn(k Kind) string {
	switch k {
	case Exchange:
		return "Exchanges"
	case Repair:
		return "Repairs under warranty"
	case RefundOnly:
		return "Refunds without return"
	}
	return "Returns"
}

func (wording) kindZh(k Kind) string {
	switch k {
	case Exchange:
		return "换货"
	case Repair:
		return "保修维修"
	case RefundOnly:
		return "仅退款"
	}
	return "退货"
}
