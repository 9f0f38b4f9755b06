package aftersales

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/database"
)

// ReportFilter selects what a report covers.
type ReportFilter struct {
	Shop string // a shop's code; "" for every shop
	// From and To are days in the shop's zone bounding the orders (return
	// rates), refunds, inspections, repairs and complaints counted: From
	// inclusive, To exclusive. Default: the twelve months to today.
	From, To calendar.Date
	Period   string // day, week or month: the rows of ByPeriod
	Top      int    // rows of the SKU, product and supplier tables; default 20
}

// Periods a report can be broken down by.
var Periods = []string{"day", "week", "month"}

// Report is the after-sales analytics of a period. Return rates count
// returns and exchanges (not refused, not withdrawn) against the orders
// they are about, by the order's date, so a period's rate does not
// change with when customers got round to asking.
type Report struct {
	From   string `json:"from" doc:"The first day counted (YYYY-MM-DD)"`
	To     string `json:"to" doc:"The day after the last one counted"`
	Period string `json:"period" enum:"day,week,month"`
	Zone   string `json:"zone" doc:"The time zone days are counted in: the shop's"`
	// SalesAsOf is when the daily sales were last brought up to date.
	SalesAsOf *time.Time `json:"sales_as_of,omitempty" doc:"When orders were last summed into the daily sales"`

	Orders        int     `json:"orders" doc:"Orders placed in the period"`
	UnitsSold     int     `json:"units_sold"`
	Returns       int     `json:"returns" doc:"Return and exchange cases on those orders"`
	UnitsReturned int     `json:"units_returned"`
	ReturnRate    float64 `json:"return_rate" doc:"Returns per order"`
	UnitRate      float64 `json:"unit_return_rate" doc:"Units returned per unit sold"`

	ByReason   []ReasonRow `json:"by_reason"`
	BySKU      []RateRow   `json:"by_sku"`
	ByProduct  []RateRow   `json:"by_product"`
	BySupplier []RateRow   `json:"by_supplier"`
	ByPeriod   []PeriodRow `json:"by_period"`

	Refunds    LeadTime       `json:"refund_lead_time" doc:"Refunds paid in the period: working days from due to paid"`
	QC         QCStats        `json:"qc"`
	Repairs    LeadTime       `json:"repair_turnaround" doc:"Repairs shipped back in the period: working days from opening"`
	Complaints ComplaintStats `json:"complaints"`
}

// ReasonRow is returns for one reason.
type ReasonRow struct {
	Reason string  `json:"reason"`
	Name   string  `json:"name"`
	NameZh string  `json:"name_zh"`
	Cases  int     `json:"cases"`
	Units  int     `json:"units"`
	Share  float64 `json:"share" doc:"Of all returns"`
	Rate   float64 `json:"rate" doc:"Returns for this reason per order"`
}

// RateRow is returns of one SKU, product or supplier.
type RateRow struct {
	Key      string  `json:"key"`
	Name     string  `json:"name"`
	Sold     int     `json:"units_sold"`
	Returned int     `json:"units_returned"`
	Rate     float64 `json:"rate" doc:"Units returned per unit sold"`
}

// PeriodRow is one day, week or month.
type PeriodRow struct {
	Start         string  `json:"start" doc:"The period's first day (YYYY-MM-DD)"`
	Orders        int     `json:"orders"`
	Returns       int     `json:"returns"`
	UnitsReturned int     `json:"units_returned"`
	ReturnRate    float64 `json:"return_rate"`
	Complaints    int     `json:"complaints" doc:"Complaints opened"`
}

// LeadTime summarises durations in working days.
type LeadTime struct {
	Count        int     `json:"count"`
	MeanDays     float64 `json:"mean_days"`
	MedianDays   float64 `json:"median_days"`
	P90Days      float64 `json:"p90_days"`
	TargetDays   int     `json:"target_days,omitempty"`
	WithinTarget float64 `json:"within_target" doc:"Share done within the target"`
}

// QCStats is the inspections of the period.
type QCStats struct {
	Inspections int     `json:"inspections"`
	Failed      int     `json:"failed"`
	FailureRate float64 `json:"failure_rate"`
}

// ComplaintStats is the complaints of the period.
type ComplaintStats struct {
	Opened   int      `json:"opened"`
	Resolved LeadTime `json:"resolved" doc:"Complaints resolved in the period: working days from opening"`
	Breached int      `json:"breached" doc:"Reply or resolution deadlines missed"`
}

// ReturnReport computes the after-sales analytics for f.
func (s *Service) ReturnReport(ctx context.Context, f ReportFilter) (*Report, error) {
	a := audit.ActorOf(ctx)
	if !a.SeesAllTickets() {
		return nil, kefu.Errorf(kefu.Forbidden, "reports are for supervisors, administrators and auditors")
	}
	q := s.DB.Read
	st, err := loadSettings(ctx, q)
	if err != nil {
		return nil, err
	}
	var fs kefu.Fields
	if f.Period == "" {
		f.Period = "month"
	}
	if !slices.Contains(Periods, f.Period) {
		fs.Add("period", "must be day, week or month")
	}
	if f.Top <= 0 {
		f.Top = 20
	}
	if f.Top > 500 {
		fs.Add("top", "must be at most 500")
	}
	shopID, zone, err := s.reportShop(ctx, q, f.Shop)
	if err != nil {
		return nil, err
	}
	loc, _ := calendar.LoadZone(zone)
	if loc == nil {
		loc = time.UTC
	}
	if f.To == (calendar.Date{}) {
		f.To = calendar.DateOf(s.Now().In(loc)).AddDays(1)
	}
	if f.From == (calendar.Date{}) {
		t := time.Date(f.To.Year-1, f.To.Month, f.To.Day, 12, 0, 0, 0, time.UTC)
		f.From = calendar.DateOf(t)
	}
	if !f.From.Before(f.To) {
		fs.Add("from", "must be before to")
	}
	limit := map[string]int{"day": 400, "week": 5 * 366, "month": 20 * 366}[f.Period]
	if f.From.AddDays(limit).Before(f.To) {
		fs.Add("to", "a %s breakdown covers at most %d days", f.Period, limit)
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	if err := s.RefreshSales(kefu.WithActor(ctx, kefu.System)); err != nil {
		return nil, err
	}
	r := &Report{From: f.From.String(), To: f.To.String(), Period: f.Period, Zone: zone, ByReason: []ReasonRow{}, BySKU: []RateRow{},
		ByProduct: []RateRow{}, BySupplier: []RateRow{}, ByPeriod: []PeriodRow{}}
	days := periods(f.From, f.To, f.Period)
	for _, d := range days[:len(days)-1] {
		r.ByPeriod = append(r.ByPeriod, PeriodRow{Start: d.String()})
	}
	if err := s.sales(ctx, q, r, shopID, days, f.Top); err != nil {
		return nil, err
	}
	bounds := make([]time.Time, len(days))
	for i, d := range days {
		bounds[i] = time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
	}
	cal, err := s.reportCalendar(ctx, q, st)
	if err != nil {
		return nil, err
	}
	if err := s.leadTimes(ctx, q, r, st, cal, shopID, bounds); err != nil {
		return nil, err
	}
	return r, nil
}

// reportShop resolves the shop filter to its id and zone; without one,
// periods are counted in the zone of the first shop.
func (s *Service) reportShop(ctx context.Context, q database.Querier, code string) (id, zone string, err error) {
	query, args := `SELECT CAST(id AS text), timezone FROM shops ORDER BY code LIMIT 1`, []any{}
	if code != "" {
		query, args = `SELECT CAST(id AS text), timezone FROM shops WHERE code = $1`, []any{code}
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return "", "", fmt.Errorf("aftersales: report shop: %w", err)
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(&id, &zone); err != nil {
			return "", "", err
		}
	} else if code != "" {
		return "", "", kefu.Fieldf("shop", "no shop %s", code)
	}
	if code == "" {
		id = ""
	}
	if zone == "" {
		zone = "UTC"
	}
	return id, zone, rows.Err()
}

// reportCalendar is the calendar working days are counted in: the
// settings', else the only one; nil counts calendar days.
func (s *Service) reportCalendar(ctx context.Context, q database.Querier, st *Settings) (*calendar.Calendar, error) {
	id := st.CalendarID
	if id == "" {
		ids, err := database.Strings(ctx, q, `SELECT CAST(id AS text) FROM calendars ORDER BY name LIMIT 2`)
		if err != nil || len(ids) != 1 {
			return nil, err
		}
		id = ids[0]
	}
	return s.SLA.Calendars.Compiled(ctx, q, id)
}

// periods returns the first days of the days, weeks (from Monday) or
// months from from to to: from first (which may fall inside a period)
// and to last.
func periods(from, to calendar.Date, period string) []calendar.Date {
	start := from
	switch period {
	case "week":
		start = from.AddDays(-((int(from.Weekday()) + 6) % 7))
	case "month":
		start = calendar.Date{Year: from.Year, Month: from.Month, Day: 1}
	}
	out := []calendar.Date{from}
	for d := start; ; {
		switch period {
		case "day":
			d = d.AddDays(1)
		case "week":
			d = d.AddDays(7)
		default:
			t := time.Date(d.Year, d.Month+1, 1, 12, 0, 0, 0, time.UTC)
			d = calendar.DateOf(t)
		}
		if !d.Before(to) {
			break
		}
		out = append(out, d)
	}
	return append(out, to)
}

// bucket is a SQL expression numbering the period col falls in, bounds
// (days as text, or instants) bound as parameters from n+1: nested CASEs,
// so finding the period costs a few comparisons however many there are.
// It needs col within [bounds[0], bounds[len-1]).
func bucket[T any](col string, bounds []T, n int) (string, []any) {
	args := make([]any, 0, len(bounds))
	var build func(lo, hi int) string
	build = func(lo, hi int) string { // periods lo..hi-1
		if hi-lo == 1 {
			return fmt.Sprint(lo)
		}
		mid := (lo + hi) / 2
		args = append(args, boundArg(bounds[mid]))
		return fmt.Sprintf("CASE WHEN %s < $%d THEN %s ELSE %s END", col, n+len(args), build(lo, mid), build(mid, hi))
	}
	return build(0, len(bounds)-1), args
}

// boundArg is a bound as a query argument: instants in UTC (SQLite
// compares stored timestamps as text), days as YYYY-MM-DD.
func boundArg(v any) any {
	switch b := v.(type) {
	case time.Time:
		return b.UTC()
	case calendar.Date:
		return b.String()
	}
	return v
}

func rate(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return math.Round(float64(n)/float64(of)*1e4) / 1e4
}

// sales fills the return rates: orders and units sold from the daily
// sales, returns from the cases on orders of those days.
func (s *Service) sales(ctx context.Context, q database.Querier, r *Report, shopID string, days []calendar.Date, top int) error {
	from, to := days[0].String(), days[len(days)-1].String()
	shopCond := func(col string, n int) (string, []any) {
		if shopID == "" {
			return "", nil
		}
		return fmt.Sprintf(" AND %s = $%d", col, n), []any{shopID}
	}
	// Orders per period.
	b, bargs := bucket("day", days, 2)
	sc, sargs := shopCond("shop_id", 3+len(bargs))
	args := append(append([]any{from, to}, bargs...), sargs...)
	rows, err := q.QueryContext(ctx, `SELECT `+b+`, SUM(orders) FROM aftersales_sales WHERE sku = '' AND day >= $1 AND day < $2`+sc+` GROUP BY 1`, args...)
	if err != nil {
		return fmt.Errorf("aftersales: report orders: %w", err)
	}
	for rows.Next() {
		var i, n int
		if err := rows.Scan(&i, &n); err != nil {
			rows.Close()
			return err
		}
		r.ByPeriod[i].Orders = n
		r.Orders += n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// Units sold per SKU.
	sc, sargs = shopCond("shop_id", 3)
	rows, err = q.QueryContext(ctx, `SELECT sku, SUM(units) FROM aftersales_sales WHERE sku <> '' AND day >= $1 AND day < $2`+sc+`
		GROUP BY sku`, append([]any{from, to}, sargs...)...)
	if err != nil {
		return fmt.Errorf("aftersales: report units: %w", err)
	}
	sold := map[string]int{}
	for rows.Next() {
		var sku string
		var n int
		if err := rows.Scan(&sku, &n); err != nil {
			rows.Close()
			return err
		}
		sold[sku] = n
		r.UnitsSold += n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var asOf sql.NullTime
	sc, sargs = shopCond("shop_id", 1)
	if err := q.QueryRowContext(ctx, `SELECT seen_until FROM aftersales_sales_state WHERE 1=1`+sc+` ORDER BY seen_until LIMIT 1`, sargs...).Scan(&asOf); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("aftersales: report sales state: %w", err)
	}
	r.SalesAsOf = database.TimePtr(asOf)
	// Returns per SKU, reason and period, from the cases on those orders:
	// one row per item, summed here (cheaper than grouping in SQL, and a
	// case with several items is counted once).
	sc, sargs = shopCond("c.shop_id", 3)
	// Over more than a quarter, reading the cases in their table's order
	// (as they were opened, with their items beside them) is several times
	// cheaper on SQLite than following the order-date index to each case
	// and its items (measured: 0.2 s against 1.3 s for 76,000 returns): the
	// column is wrapped so that SQLite scans; PostgreSQL scans either way.
	cohort := "c.ordered_on"
	if days[0].AddDays(92).Before(days[len(days)-1]) {
		cohort = "(c.ordered_on || '')"
	}
	rows, err = q.QueryContext(ctx, `SELECT CAST(c.id AS text), c.ordered_on, c.reason, i.sku, i.product, i.product_name, i.supplier, i.quantity
		FROM aftersales_cases c JOIN aftersales_case_items i ON i.case_id = c.id
		WHERE c.kind IN ('return', 'exchange') AND c.step NOT IN ('refused', 'withdrawn') AND `+cohort+` >= $1 AND `+cohort+` < $2`+sc,
		append([]any{from, to}, sargs...)...)
	if err != nil {
		return fmt.Errorf("aftersales: report returns: %w", err)
	}
	type agg struct {
		name           string
		sold, returned int
	}
	starts := make([]string, len(days)-1)
	for i, d := range days[:len(days)-1] {
		starts[i] = d.String()
	}
	skus, products, suppliers := map[string]*agg{}, map[string]*agg{}, map[string]*agg{}
	byReason := map[string]*ReasonRow{}
	counted := map[string]bool{}
	for rows.Next() {
		var id, day, reason, sku, product, productName, supplier string
		var units int
		if err := rows.Scan(&id, &day, &reason, &sku, &product, &productName, &supplier, &units); err != nil {
			rows.Close()
			return err
		}
		// The period whose first day is the last one not after day.
		i, found := slices.BinarySearch(starts, day)
		if !found {
			i--
		}
		rr := byReason[reason]
		if rr == nil {
			rr = &ReasonRow{Reason: reason}
			byReason[reason] = rr
		}
		if !counted[id] {
			counted[id] = true
			r.ByPeriod[i].Returns++
			r.Returns++
			rr.Cases++
		}
		r.ByPeriod[i].UnitsReturned += units
		r.UnitsReturned += units
		rr.Units += units
		for _, x := range []struct {
			m         map[string]*agg
			key, name string
		}{{skus, sku, productName}, {products, product, productName}, {suppliers, supplier, ""}} {
			if x.m[x.key] == nil {
				x.m[x.key] = &agg{name: x.name}
			}
			x.m[x.key].returned += units
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// What was sold of the products and suppliers comes from the SKUs
	// sold, through the catalogue.
	catalogue, err := s.catalogue(ctx, q, shopID, sold)
	if err != nil {
		return err
	}
	for sku, n := range sold {
		if skus[sku] == nil {
			skus[sku] = &agg{}
		}
		skus[sku].sold += n
		c := catalogue[sku]
		for _, x := range []struct {
			m         map[string]*agg
			key, name string
		}{{products, c.product, c.productName}, {suppliers, c.supplier, ""}} {
			if x.m[x.key] == nil {
				x.m[x.key] = &agg{name: x.name}
			}
			x.m[x.key].sold += n
			if x.m[x.key].name == "" {
				x.m[x.key].name = x.name
			}
		}
		if skus[sku].name == "" {
			skus[sku].name = c.productName
		}
	}
	table := func(m map[string]*agg) []RateRow {
		out := []RateRow{}
		for k, v := range m {
			if v.returned == 0 {
				continue
			}
			out = append(out, RateRow{Key: k, Name: v.name, Sold: v.sold, Returned: v.returned, Rate: rate(v.returned, v.sold)})
		}
		sort.Slice(out, func(i, j int) bool {
			if out[i].Returned != out[j].Returned {
				return out[i].Returned > out[j].Returned
			}
			return out[i].Key < out[j].Key
		})
		return out[:min(top, len(out))]
	}
	r.BySKU, r.ByProduct, r.BySupplier = table(skus), table(products), table(suppliers)
	reasons, err := listReasons(ctx, q)
	if err != nil {
		return err
	}
	for _, rs := range reasons {
		if rr := byReason[rs.Key]; rr != nil {
			rr.Name, rr.NameZh = rs.NameEn, rs.NameZh
			rr.Share, rr.Rate = rate(rr.Cases, r.Returns), rate(rr.Cases, r.Orders)
			r.ByReason = append(r.ByReason, *rr)
		}
	}
	sort.SliceStable(r.ByReason, func(i, j int) bool { return r.ByReason[i].Cases > r.ByReason[j].Cases })
	for i := range r.ByPeriod {
		p := &r.ByPeriod[i]
		p.ReturnRate = rate(p.Returns, p.Orders)
	}
	r.ReturnRate, r.UnitRate = rate(r.Returns, r.Orders), rate(r.UnitsReturned, r.UnitsSold)
	return nil
}

type catalogueEntry struct{ product, productName, supplier string }

// catalogue looks up the product and supplier of the SKUs sold.
func (s *Service) catalogue(ctx context.Context, q database.Querier, shopID string, sold map[string]int) (map[string]catalogueEntry, error) {
	out := map[string]catalogueEntry{}
	cond, args := "", []any{}
	if shopID != "" {
		cond, args = " WHERE k.shop_id = $1", []any{shopID}
	}
	rows, err := q.QueryContext(ctx, `SELECT k.code, p.code, p.name, p.supplier FROM skus k JOIN products p ON p.id = k.product_id`+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("aftersales: report catalogue: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sku string
		var e catalogueEntry
		if err := rows.Scan(&sku, &e.product, &e.productName, &e.supplier); err != nil {
			return nil, err
		}
		if _, ok := sold[sku]; ok {
			out[sku] = e
		}
	}
	return out, rows.Err()
}

// leadTimes fills refund lead times, inspections, repair turnaround and
// complaints, each by when it happened.
func (s *Service) leadTimes(ctx context.Context, q database.Querier, r *Report, st *Settings, cal *calendar.Calendar, shopID string,
	bounds []time.Time) error {
	from, to := bounds[0].UTC(), bounds[len(bounds)-1].UTC()
	days := func(a, b time.Time) float64 {
		if cal != nil {
			return float64(cal.WorkingDays(a, b))
		}
		return math.Floor(b.Sub(a).Hours() / 24)
	}
	// ofShop limits rows with a case id in col to the shop's cases.
	ofShop := func(col string, n int) (string, []any) {
		if shopID == "" {
			return "", nil
		}
		return fmt.Sprintf(" AND %s IN (SELECT id FROM aftersales_cases WHERE shop_id = $%d)", col, n), []any{shopID}
	}
	collect := func(query string, args []any, target int) (LeadTime, error) {
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			return LeadTime{}, fmt.Errorf("aftersales: report lead times: %w", err)
		}
		defer rows.Close()
		var ds []float64
		for rows.Next() {
			var a, b time.Time
			if err := rows.Scan(&a, &b); err != nil {
				return LeadTime{}, err
			}
			ds = append(ds, days(a, b))
		}
		if err := rows.Err(); err != nil {
			return LeadTime{}, err
		}
		return summarise(ds, target), nil
	}
	cond, args := ofShop("r.case_id", 3)
	var err error
	r.Refunds, err = collect(`SELECT r.started_at, r.done_at FROM aftersales_remedies r
		WHERE r.kind = 'refund' AND r.state = 'paid' AND r.done_at >= $1 AND r.done_at < $2`+cond, append([]any{from, to}, args...), st.RefundWorkingDays)
	if err != nil {
		return err
	}
	cond, args = ofShop("p.case_id", 3)
	r.Repairs, err = collect(`SELECT c.created_at, p.at FROM aftersales_steps p JOIN aftersales_cases c ON c.id = p.case_id
		WHERE p.action = 'ship_back' AND p.at >= $1 AND p.at < $2`+cond, append([]any{from, to}, args...), 0)
	if err != nil {
		return err
	}
	r.Complaints.Resolved, err = collect(`SELECT c.created_at, p.at FROM aftersales_steps p JOIN aftersales_cases c ON c.id = p.case_id
		WHERE p.action = 'resolve' AND p.at >= $1 AND p.at < $2`+cond, append([]any{from, to}, args...), st.ComplaintResolutionWorkingDays)
	if err != nil {
		return err
	}
	cond, args = ofShop("i.case_id", 3)
	if err := q.QueryRowContext(ctx, `SELECT count(*), COALESCE(SUM(CASE WHEN i.passed THEN 0 ELSE 1 END), 0) FROM aftersales_inspections i
		WHERE i.at >= $1 AND i.at < $2`+cond, append([]any{from, to}, args...)...).Scan(&r.QC.Inspections, &r.QC.Failed); err != nil {
		return fmt.Errorf("aftersales: report inspections: %w", err)
	}
	r.QC.FailureRate = rate(r.QC.Failed, r.QC.Inspections)
	b, bargs := bucket("c.created_at", bounds, 2)
	cond, args = ofShop("c.id", 3+len(bargs))
	rows, err := q.QueryContext(ctx, `SELECT `+b+`, count(*) FROM aftersales_cases c WHERE c.kind = 'complaint' AND c.created_at >= $1
		AND c.created_at < $2`+cond+` GROUP BY 1`, append(append([]any{from, to}, bargs...), args...)...)
	if err != nil {
		return fmt.Errorf("aftersales: report complaints: %w", err)
	}
	for rows.Next() {
		var i, n int
		if err := rows.Scan(&i, &n); err != nil {
			rows.Close()
			return err
		}
		r.ByPeriod[i].Complaints = n
		r.Complaints.Opened += n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	cond, args = ofShop("c.id", 3)
	return q.QueryRowContext(ctx, `SELECT count(*) FROM sla_clocks k WHERE k.target IN ('complaint_reply', 'complaint_resolution')
		AND k.breached_at IS NOT NULL AND k.breached_at >= $1 AND k.breached_at < $2 AND k.ticket_id IN (SELECT c.ticket_id
		FROM aftersales_cases c WHERE c.kind = 'complaint'`+cond+`)`, append([]any{from, to}, args...)...).Scan(&r.Complaints.Breached)
}

// summarise is a LeadTime of durations ds (working days).
func summarise(ds []float64, target int) LeadTime {
	lt := LeadTime{Count: len(ds), TargetDays: target}
	if len(ds) == 0 {
		return lt
	}
	slices.Sort(ds)
	sum, within := 0.0, 0
	for _, d := range ds {
		sum += d
		if target > 0 && d <= float64(target) {
			within++
		}
	}
	at := func(p float64) float64 { return ds[min(len(ds)-1, int(math.Ceil(p*float64(len(ds))))-1)] }
	lt.MeanDays = math.Round(sum/float64(len(ds))*100) / 100
	lt.MedianDays, lt.P90Days = at(0.5), at(0.9)
	if target > 0 {
		lt.WithinTarget = rate(within, len(ds))
	}
	return lt
}

// CSV returns the report's tables as CSV rows, one table after another
// with a blank row between them, for spreadsheets.
func (r *Report) CSV() [][]string {
	pct := func(f float64) string { return fmt.Sprintf("%.2f%%", f*100) }
	num := func(n int) string { return fmt.Sprint(n) }
	out := [][]string{
		{"after-sales report", r.From, r.To, r.Zone},
		{"orders", "units sold", "returns", "units returned", "return rate", "unit return rate"},
		{num(r.Orders), num(r.UnitsSold), num(r.Returns), num(r.UnitsReturned), pct(r.ReturnRate), pct(r.UnitRate)},
		{},
		{"period start", "orders", "returns", "units returned", "return rate", "complaints"},
	}
	for _, p := range r.ByPeriod {
		out = append(out, []string{p.Start, num(p.Orders), num(p.Returns), num(p.UnitsReturned), pct(p.ReturnRate), num(p.Complaints)})
	}
	out = append(out, []string{}, []string{"reason", "name", "cases", "units", "share of returns", "per order"})
	for _, x := range r.ByReason {
		out = append(out, []string{x.Reason, x.Name, num(x.Cases), num(x.Units), pct(x.Share), pct(x.Rate)})
	}
	for _, t := range []struct {
		title string
		rows  []RateRow
	}{{"sku", r.BySKU}, {"product", r.ByProduct}, {"supplier", r.BySupplier}} {
		out = append(out, []string{}, []string{t.title, "name", "units sold", "units returned", "return rate"})
		for _, x := range t.rows {
			out = append(out, []string{x.Key, x.Name, num(x.Sold), num(x.Returned), pct(x.Rate)})
		}
	}
	out = append(out, []string{}, []string{"measure", "count", "mean working days", "median", "p90", "target days", "within target"})
	for _, m := range []struct {
		name string
		lt   LeadTime
	}{{"refund lead time", r.Refunds}, {"repair turnaround", r.Repairs}, {"complaint resolution", r.Complaints.Resolved}} {
		out = append(out, []string{m.name, num(m.lt.Count), fmt.Sprint(m.lt.MeanDays), fmt.Sprint(m.lt.MedianDays), fmt.Sprint(m.lt.P90Days),
			num(m.lt.TargetDays), pct(m.lt.WithinTarget)})
	}
	out = append(out, []string{}, []string{"inspections", "failed", "failure rate", "complaints opened", "complaint deadlines missed"},
		[]string{num(r.QC.Inspections), num(r.QC.Failed), pct(r.QC.FailureRate), num(r.Complaints.Opened), num(r.Complaints.Breached)})
	for i, row := range out {
		for j, cell := range row {
			out[i][j] = csvSafe(cell)
		}
	}
	return out
}

// csvSafe keeps a cell from being read as a formula by a spreadsheet.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) && !isNumber(s) {
		return "'" + s
	}
	return s
}

func isNumber(s string) bool {
	_, err := fmt.Sscanf(s, "%g", new(float64))
	return err == nil
}
