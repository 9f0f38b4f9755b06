package api

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/aftersales"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/shop"
)

// aftersalesRoutes lists the routes of after-sales cases, their reasons
// and settings, vouchers and the after-sales report.
func (s *Server) aftersalesRoutes() {
	const (
		get, post, put     = http.MethodGet, http.MethodPost, http.MethodPut
		ticketsR, ticketsW = "tickets:read", "tickets:write"
		admin              = "admin"
	)
	op(s, get, "/aftersales/cases", "list-cases", "After-sales cases, newest first, with filters and cursor paging", ticketsR, s.listCases)
	op(s, post, "/aftersales/cases", "open-case", "Open a return, exchange, repair, refund or complaint on a ticket; its eligibility is checked from the SKU's terms and the delivery date", ticketsW, s.openCase, 201)
	op(s, get, "/aftersales/cases/{id}", "get-case", "Get a case by id or key (AS-1001) with its steps, photos, inspections, remedies and deadlines", ticketsR, s.getCase)
	// An action acts on a version: a stale If-Match answers 412.
	register(s, huma.Operation{OperationID: "case-action", Method: post, Path: "/aftersales/cases/{id}/actions",
		Summary: "Take an action on a case (approve, refuse, receive, inspect, refund, …); send If-Match; an action its step does not allow is refused with 409",
		Errors:  []int{http.StatusPreconditionFailed}}, ticketsW, s.caseAction)
	op(s, get, "/aftersales/cases/{id}/audit", "case-audit", "Every change to a case", ticketsR, s.caseAudit)
	op(s, get, "/aftersales/photos/{id}", "get-case-photo", "Download a case's photo", ticketsR, s.getCasePhoto)
	op(s, get, "/aftersales/eligibility", "check-eligibility", "Whether a request of a kind and reason is inside each order item's terms, explained for the customer", ticketsR, s.checkEligibility)
	op(s, get, "/aftersales/reasons", "list-case-reasons", "The reasons customers give for after-sales requests", ticketsR, s.listCaseReasons)
	op(s, put, "/aftersales/reasons/{key}", "save-case-reason", "Create or change a reason; archive rather than delete one in use", admin, s.saveCaseReason)
	op(s, get, "/aftersales/settings", "get-aftersales-settings", "Refund and complaint deadlines, return instructions and refusal rules", ticketsR, s.getAftersalesSettings)
	op(s, put, "/aftersales/settings", "replace-aftersales-settings", "Replace the after-sales settings; send If-Match", admin, s.replaceAftersalesSettings)
	op(s, get, "/aftersales/vouchers/{code}", "get-voucher", "A discount voucher given as a remedy, and whether it can still be used", ticketsR, s.getVoucher)
	op(s, post, "/aftersales/vouchers/{code}/redeem", "redeem-voucher", "Mark a voucher used on an order", ticketsW, s.redeemVoucher)
	op(s, get, "/aftersales/reports/returns", "aftersales-report", "Return rates by reason, SKU, product, supplier and period; refund lead time; QC failures; repair turnaround; complaints (supervisors)", ticketsR, s.aftersalesReport)
	op(s, get, "/aftersales/reports/returns.csv", "aftersales-report-csv", "The after-sales report as CSV (supervisors)", ticketsR, s.aftersalesReportCSV)
}

type caseOut struct {
	ETag string `header:"ETag"`
	Body *aftersales.Case
}

func caseResult(c *aftersales.Case, err error) (*caseOut, error) {
	if err != nil {
		return nil, err
	}
	return &caseOut{ETag: etag(c.Version), Body: c}, nil
}

type listCasesIn struct {
	Ticket   string   `query:"ticket" doc:"A ticket's id or key"`
	Order    string   `query:"order" doc:"An order's id"`
	Customer string   `query:"customer" doc:"A customer's id"`
	Kind     []string `query:"kind" doc:"Comma-separated kinds"`
	Step     []string `query:"step" doc:"Comma-separated steps"`
	Open     string   `query:"open" enum:"true,false," doc:"true: open cases; false: closed, refused or withdrawn"`
	Cursor   string   `query:"cursor" doc:"next_cursor of the previous page"`
	Limit    int      `query:"limit" minimum:"1" maximum:"100" default:"25"`
}

type casesOut struct{ Body *aftersales.Page }

func (s *Server) listCases(ctx context.Context, in *listCasesIn) (*casesOut, error) {
	f := aftersales.Filter{OrderID: in.Order, CustomerID: in.Customer, Cursor: in.Cursor, Limit: in.Limit}
	if in.Ticket != "" {
		t, err := s.Tickets.Get(ctx, in.Ticket)
		if err != nil {
			return nil, inQuery(kefu.Fieldf("ticket", "no ticket %s", in.Ticket))
		}
		f.TicketID = t.ID
	}
	for _, k := range splitList(in.Kind) {
		f.Kind = append(f.Kind, aftersales.Kind(k))
	}
	for _, st := range splitList(in.Step) {
		f.Step = append(f.Step, aftersales.Step(st))
	}
	if in.Open != "" {
		open := in.Open == "true"
		f.Open = &open
	}
	page, err := s.Aftersales.List(ctx, f)
	if err != nil {
		return nil, inQuery(err)
	}
	return &casesOut{Body: page}, nil
}

type openCaseIn struct {
	IdempotencyKey string `header:"Idempotency-Key" doc:"A retried request with the same key opens nothing twice"`
	Body           aftersales.OpenInput
}

type openedCaseOut struct {
	Status   int
	ETag     string `header:"ETag"`
	Location string `header:"Location"`
	Body     *aftersales.Case
}

func (s *Server) openCase(ctx context.Context, in *openCaseIn) (*openedCaseOut, error) {
	c, err := s.Aftersales.Open(ctx, in.Body)
	if err != nil {
		return nil, err
	}
	return &openedCaseOut{Status: 201, ETag: etag(c.Version), Location: "/api/v1/aftersales/cases/" + c.ID, Body: c}, nil
}

func (s *Server) getCase(ctx context.Context, in *idPath) (*caseOut, error) {
	return caseResult(s.Aftersales.Get(ctx, in.ID))
}

type caseActionIn struct {
	ID             string `path:"id"`
	IfMatch        string `header:"If-Match" doc:"The ETag of the version acted on; a stale one gets 412 with the current case"`
	IdempotencyKey string `header:"Idempotency-Key" doc:"A retried request with the same key acts once"`
	Body           aftersales.ActionInput
}

func (s *Server) caseAction(ctx context.Context, in *caseActionIn) (*caseOut, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	return caseResult(s.Aftersales.Act(ctx, in.ID, v, in.Body))
}

func (s *Server) caseAudit(ctx context.Context, in *auditIn) (*auditOut, error) {
	c, err := s.Aftersales.Get(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	entries, err := audit.List(ctx, s.DB.Read, audit.Filter{Entity: "aftersales_case", EntityID: c.ID, Before: in.Cursor, Limit: in.Limit})
	return auditPage(entries, in.Limit, err)
}

func (s *Server) getCasePhoto(ctx context.Context, in *idPath) (*huma.StreamResponse, error) {
	p, f, err := s.Aftersales.OpenPhoto(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &huma.StreamResponse{Body: func(hc huma.Context) {
		defer f.Close()
		hc.SetHeader("Content-Type", p.ContentType)
		hc.SetHeader("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": p.Filename}))
		hc.SetHeader("Content-Length", fmt.Sprint(p.Size))
		hc.SetHeader("Cache-Control", "private, max-age=31536000, immutable")
		hc.SetHeader("X-Content-Type-Options", "nosniff")
		io.Copy(hc.BodyWriter(), f)
	}}, nil
}

type eligibilityIn struct {
	Order  string `query:"order" doc:"The order's id or number" required:"true"`
	Kind   string `query:"kind" enum:"return,exchange,repair,refund_only,complaint" required:"true"`
	Reason string `query:"reason" doc:"A reason's key; without one, no reason is assumed"`
	Item   string `query:"item" doc:"Only this item, by id or SKU"`
}

type eligibilityOut struct {
	Body struct {
		Items []shop.ItemEligibility `json:"items"`
	}
}

func (s *Server) checkEligibility(ctx context.Context, in *eligibilityIn) (*eligibilityOut, error) {
	items, err := s.Aftersales.Eligibility(ctx, in.Order, aftersales.Kind(in.Kind), in.Reason, in.Item)
	if err != nil {
		return nil, inQuery(err)
	}
	out := &eligibilityOut{}
	out.Body.Items = items
	return out, nil
}

type caseReasonsOut struct {
	Body struct {
		Reasons []aftersales.Reason `json:"reasons"`
	}
}

func (s *Server) listCaseReasons(ctx context.Context, _ *struct{}) (*caseReasonsOut, error) {
	rs, err := s.Aftersales.Reasons(ctx)
	if err != nil {
		return nil, err
	}
	out := &caseReasonsOut{}
	out.Body.Reasons = rs
	return out, nil
}

type saveCaseReasonIn struct {
	Key  string `path:"key"`
	Body struct {
		NameEn      string            `json:"name_en" maxLength:"100"`
		NameZh      string            `json:"name_zh,omitempty" maxLength:"100"`
		Basis       shop.Reason       `json:"basis,omitempty" enum:"quality,damaged,wrong_item,not_as_described,not_received,size_fit,changed_mind," doc:"The shop reason requests are checked as; empty: a fault needing no photos"`
		Responsible aftersales.Party  `json:"responsible,omitempty" enum:"shop,carrier,supplier,customer,"`
		Kinds       []aftersales.Kind `json:"kinds,omitempty" doc:"Kinds of case it applies to; empty: all"`
		Position    int               `json:"position,omitempty"`
		Archived    bool              `json:"archived,omitempty"`
	}
}

func (s *Server) saveCaseReason(ctx context.Context, in *saveCaseReasonIn) (*caseReasonsOut, error) {
	b := in.Body
	if _, err := s.Aftersales.SaveReason(ctx, aftersales.Reason{Key: in.Key, NameEn: b.NameEn, NameZh: b.NameZh, Basis: b.Basis,
		Responsible: b.Responsible, Kinds: b.Kinds, Position: b.Position, Archived: b.Archived}); err != nil {
		return nil, err
	}
	return s.listCaseReasons(ctx, nil)
}

type aftersalesSettingsOut struct {
	ETag string `header:"ETag"`
	Body *aftersales.Settings
}

func (s *Server) getAftersalesSettings(ctx context.Context, _ *struct{}) (*aftersalesSettingsOut, error) {
	st, err := s.Aftersales.Settings(ctx)
	if err != nil {
		return nil, err
	}
	return &aftersalesSettingsOut{ETag: etag(st.Version), Body: st}, nil
}

type replaceAftersalesSettingsIn struct {
	IfMatch string `header:"If-Match" doc:"The ETag of the settings being replaced; a stale one gets 412"`
	Body    aftersales.Settings
}

func (s *Server) replaceAftersalesSettings(ctx context.Context, in *replaceAftersalesSettingsIn) (*aftersalesSettingsOut, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	st, err := s.Aftersales.SaveSettings(ctx, v, in.Body)
	if err != nil {
		return nil, err
	}
	return &aftersalesSettingsOut{ETag: etag(st.Version), Body: st}, nil
}

type voucherIn struct {
	Code string `path:"code"`
}

type voucherOut struct{ Body *aftersales.VoucherState }

func (s *Server) getVoucher(ctx context.Context, in *voucherIn) (*voucherOut, error) {
	v, err := s.Aftersales.Voucher(ctx, in.Code)
	if err != nil {
		return nil, err
	}
	return &voucherOut{Body: v}, nil
}

type redeemVoucherIn struct {
	Code           string `path:"code"`
	IdempotencyKey string `header:"Idempotency-Key"`
	Body           struct {
		OrderNumber string `json:"order_number" maxLength:"100" doc:"The order it is used on"`
	}
}

func (s *Server) redeemVoucher(ctx context.Context, in *redeemVoucherIn) (*voucherOut, error) {
	v, err := s.Aftersales.RedeemVoucher(ctx, in.Code, in.Body.OrderNumber)
	if err != nil {
		return nil, err
	}
	return &voucherOut{Body: v}, nil
}

type reportIn struct {
	Shop   string `query:"shop" doc:"A shop's code; default every shop"`
	From   string `query:"from" doc:"The first day (YYYY-MM-DD, in the shop's zone); default a year before to"`
	To     string `query:"to" doc:"The day after the last (YYYY-MM-DD); default tomorrow"`
	Period string `query:"period" enum:"day,week,month," doc:"The rows of by_period; default month"`
	Top    int    `query:"top" minimum:"1" maximum:"500" default:"20" doc:"Rows of the SKU, product and supplier tables"`
}

func (in *reportIn) filter() (aftersales.ReportFilter, error) {
	f := aftersales.ReportFilter{Shop: in.Shop, Period: in.Period, Top: in.Top}
	var fs kefu.Fields
	for _, d := range []struct {
		name, v string
		dst     *calendar.Date
	}{{"query.from", in.From, &f.From}, {"query.to", in.To, &f.To}} {
		if d.v == "" {
			continue
		}
		v, err := calendar.ParseDate(d.v)
		if err != nil {
			fs.Add(d.name, "must be a date like 2025-05-01")
		}
		*d.dst = v
	}
	return f, fs.Err()
}

// report computes the report the query asks for.
func (s *Server) report(ctx context.Context, in *reportIn) (*aftersales.Report, error) {
	f, err := in.filter()
	if err != nil {
		return nil, err
	}
	r, err := s.Aftersales.ReturnReport(ctx, f)
	return r, inQuery(err)
}

type reportOut struct{ Body *aftersales.Report }

func (s *Server) aftersalesReport(ctx context.Context, in *reportIn) (*reportOut, error) {
	r, err := s.report(ctx, in)
	if err != nil {
		return nil, err
	}
	return &reportOut{Body: r}, nil
}

func (s *Server) aftersalesReportCSV(ctx context.Context, in *reportIn) (*huma.StreamResponse, error) {
	r, err := s.report(ctx, in)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("aftersales-%s-%s.csv", r.From, r.To)
	return &huma.StreamResponse{Body: func(hc huma.Context) {
		hc.SetHeader("Content-Type", "text/csv; charset=utf-8")
		hc.SetHeader("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
		w := hc.BodyWriter()
		// A byte-order mark, so spreadsheet programs read the Chinese
		// names as UTF-8.
		io.WriteString(w, "\ufeff")
		cw := csv.NewWriter(w)
		cw.WriteAll(r.CSV())
	}}, nil
}
