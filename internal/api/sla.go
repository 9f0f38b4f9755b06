package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/sla"
)

// slaRoutes lists the routes of business calendars, SLA policies, ticket
// clocks and staff notifications.
func (s *Server) slaRoutes() {
	const (
		get, post, put     = http.MethodGet, http.MethodPost, http.MethodPut
		patch              = http.MethodPatch
		ticketsR, ticketsW = "tickets:read", "tickets:write"
		admin              = "admin"
	)
	op(s, get, "/calendars", "list-calendars", "Business calendars", ticketsR, s.listCalendars)
	op(s, post, "/calendars", "create-calendar", "Create a business calendar", admin, s.createCalendar, 201)
	op(s, get, "/calendars/{id}", "get-calendar", "Get a business calendar", ticketsR, s.getCalendar)
	op(s, put, "/calendars/{id}", "replace-calendar", "Replace a calendar's hours and overrides; send If-Match; a rejected calendar leaves the stored one untouched", admin, s.replaceCalendar)
	op(s, patch, "/calendars/{id}/overrides", "edit-overrides", "Set or remove the overrides of some dates, keeping the rest; send If-Match", admin, s.editOverrides)
	op(s, post, "/calendars/{id}/import", "import-holidays", "Add the days of a holiday-cn JSON or iCalendar file as overrides", admin, s.importHolidays)
	op(s, get, "/calendars/{id}/deadline", "calendar-deadline", "What if a request arrives at start: when is a budget of business minutes used up", ticketsR, s.calendarDeadline)
	op(s, get, "/calendars/{id}/between", "calendar-between", "Business minutes between two instants", ticketsR, s.calendarBetween)
	op(s, post, "/calendars/what-if", "calendar-what-if", "Try a calendar that is not saved: the deadline of a budget from start, and business minutes between from and to", ticketsR, s.calendarWhatIf)

	op(s, get, "/sla/policies", "list-sla-policies", "SLA policies in match order", ticketsR, s.listPolicies)
	op(s, post, "/sla/policies", "create-sla-policy", "Create an SLA policy", admin, s.createPolicy, 201)
	op(s, get, "/sla/policies/{id}", "get-sla-policy", "Get an SLA policy", ticketsR, s.getPolicy)
	op(s, put, "/sla/policies/{id}", "replace-sla-policy", "Replace an SLA policy; open clocks are recomputed from their start", admin, s.replacePolicy)
	op(s, get, "/sla/due", "sla-due", "Tickets ordered by their next SLA deadline, overdue first", ticketsR, s.slaDue)
	op(s, get, "/sla/tickets", "sla-summaries", "The open SLA clocks of up to 100 tickets, for the rows of a list", ticketsR, s.slaSummaries)
	op(s, get, "/tickets/{id}/sla", "ticket-sla", "A ticket's SLA clocks with state and business time left", ticketsR, s.ticketSLA)
	op(s, post, "/tickets/{id}/sla/agreements", "agree-next-contact", "Record the next feedback time the customer agreed to; it becomes the running target's deadline", ticketsW, s.agreeNextContact, 201)
	op(s, post, "/tickets/{id}/sla/waiver", "waive-progress-updates", "Let a ticket be solved with fewer progress updates than its policy asks (supervisors)", ticketsW, s.waiveProgress)

	op(s, get, "/notifications", "list-notifications", "Your notifications, newest first", ticketsR, s.listNotifications)
	op(s, post, "/notifications/{id}/read", "read-notification", "Mark one of your notifications read", ticketsR, s.readNotification)
}

// calendarBody is a calendar in the import/export format; overrides and
// include may be left out.
type calendarBody struct {
	Name      string                `json:"name" maxLength:"200"`
	Timezone  string                `json:"timezone" doc:"IANA zone such as Asia/Shanghai"`
	Weekly    map[string][][]string `json:"weekly" doc:"mon … sun: lists of [\"HH:MM\",\"HH:MM\"]"`
	Overrides map[string][][]string `json:"overrides,omitempty" doc:"YYYY-MM-DD: intervals; an empty list closes the date"`
	Include   []string              `json:"include,omitempty" doc:"Statutory calendars to follow: cn-statutory"`
}

func (b calendarBody) spec() calendar.Spec {
	return calendar.Spec{Name: b.Name, Timezone: b.Timezone, Weekly: b.Weekly, Overrides: b.Overrides, Include: b.Include}
}

type calendarOut struct {
	ETag string `header:"ETag"`
	Body *calendar.Record
}

func calendarResult(r *calendar.Record, err error) (*calendarOut, error) {
	if err != nil {
		return nil, err
	}
	return &calendarOut{ETag: etag(r.Version), Body: r}, nil
}

type calendarsOut struct {
	Body struct {
		Calendars []calendar.Record `json:"calendars"`
	}
}

func (s *Server) listCalendars(ctx context.Context, _ *struct{}) (*calendarsOut, error) {
	cs, err := s.Calendars.List(ctx)
	if err != nil {
		return nil, err
	}
	out := &calendarsOut{}
	out.Body.Calendars = cs
	return out, nil
}

type createCalendarIn struct {
	Body calendarBody
}

type createdCalendarOut struct {
	Status   int
	ETag     string `header:"ETag"`
	Location string `header:"Location"`
	Body     *calendar.Record
}

func (s *Server) createCalendar(ctx context.Context, in *createCalendarIn) (*createdCalendarOut, error) {
	r, err := s.Calendars.Create(ctx, in.Body.spec())
	if err != nil {
		return nil, err
	}
	return &createdCalendarOut{Status: 201, ETag: etag(r.Version), Location: "/api/v1/calendars/" + r.ID, Body: r}, nil
}

func (s *Server) getCalendar(ctx context.Context, in *idPath) (*calendarOut, error) {
	return calendarResult(s.Calendars.Get(ctx, in.ID))
}

type replaceCalendarIn struct {
	ID      string `path:"id"`
	IfMatch string `header:"If-Match" doc:"The ETag of the version being replaced"`
	Body    calendarBody
}

func (s *Server) replaceCalendar(ctx context.Context, in *replaceCalendarIn) (*calendarOut, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	return calendarResult(s.Calendars.Update(ctx, in.ID, v, in.Body.spec()))
}

type overridesIn struct {
	ID      string `path:"id"`
	IfMatch string `header:"If-Match"`
	Body    struct {
		Set    map[string][][]string `json:"set,omitempty" doc:"YYYY-MM-DD: intervals; an empty list closes the date"`
		Remove []string              `json:"remove,omitempty" doc:"Dates whose override is removed, so the weekly hours apply again"`
	}
}

func (s *Server) editOverrides(ctx context.Context, in *overridesIn) (*calendarOut, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	return calendarResult(s.Calendars.EditOverrides(ctx, in.ID, v, in.Body.Set, in.Body.Remove))
}

type importIn struct {
	ID      string `path:"id"`
	IfMatch string `header:"If-Match"`
	Body    struct {
		Format string `json:"format" enum:"holiday-cn,ics"`
		Data   string `json:"data" maxLength:"4000000" doc:"The file's text"`
	}
}

func (s *Server) importHolidays(ctx context.Context, in *importIn) (*calendarOut, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	return calendarResult(s.Calendars.Import(ctx, in.ID, v, in.Body.Format, []byte(in.Body.Data)))
}

type deadlineIn struct {
	ID      string    `path:"id"`
	Start   time.Time `query:"start" required:"true" doc:"When the request arrives (RFC 3339)"`
	Minutes float64   `query:"minutes" required:"true" minimum:"0" maximum:"1000000" doc:"Business minutes of the budget"`
}

type deadlineOut struct {
	Body struct {
		Start   time.Time `json:"start"`
		Minutes float64   `json:"minutes"`
		Due     time.Time `json:"due" doc:"In the calendar's time zone"`
	}
}

func (s *Server) compiled(ctx context.Context, id string) (*calendar.Calendar, error) {
	if _, err := s.Calendars.Get(ctx, id); err != nil {
		return nil, err
	}
	return s.Calendars.Compiled(ctx, s.DB.Read, id)
}

func (s *Server) calendarDeadline(ctx context.Context, in *deadlineIn) (*deadlineOut, error) {
	cal, err := s.compiled(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	out := &deadlineOut{}
	out.Body.Start, out.Body.Minutes = in.Start, in.Minutes
	out.Body.Due = cal.Add(in.Start, time.Duration(in.Minutes*float64(time.Minute)))
	return out, nil
}

type betweenIn struct {
	ID   string    `path:"id"`
	From time.Time `query:"from" required:"true" doc:"RFC 3339"`
	To   time.Time `query:"to" required:"true" doc:"RFC 3339"`
}

type betweenOut struct {
	Body struct {
		From            time.Time `json:"from"`
		To              time.Time `json:"to"`
		BusinessMinutes float64   `json:"business_minutes" doc:"Negative when to is before from"`
	}
}

func (s *Server) calendarBetween(ctx context.Context, in *betweenIn) (*betweenOut, error) {
	cal, err := s.compiled(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	out := &betweenOut{}
	out.Body.From, out.Body.To = in.From, in.To
	out.Body.BusinessMinutes = cal.Between(in.From, in.To).Minutes()
	return out, nil
}

// policyBody is a policy as clients send it.
type policyBody struct {
	Name       string `json:"name" maxLength:"200"`
	Position   int    `json:"position,omitempty" doc:"Policies are tried in ascending position"`
	CalendarID string `json:"calendar_id"`
	sla.Definition
}

func (b policyBody) policy() sla.Policy {
	return sla.Policy{Name: b.Name, Position: b.Position, CalendarID: b.CalendarID, Definition: b.Definition}
}

type policyOut struct {
	ETag string `header:"ETag"`
	Body *sla.Policy
}

type policiesOut struct {
	Body struct {
		Policies []sla.Policy `json:"policies"`
	}
}

func (s *Server) listPolicies(ctx context.Context, _ *struct{}) (*policiesOut, error) {
	ps, err := s.SLA.Policies(ctx)
	if err != nil {
		return nil, err
	}
	out := &policiesOut{}
	out.Body.Policies = ps
	return out, nil
}

type createPolicyIn struct {
	Body policyBody
}

type createdPolicyOut struct {
	Status   int
	ETag     string `header:"ETag"`
	Location string `header:"Location"`
	Body     *sla.Policy
}

func (s *Server) createPolicy(ctx context.Context, in *createPolicyIn) (*createdPolicyOut, error) {
	p, err := s.SLA.CreatePolicy(ctx, in.Body.policy())
	if err != nil {
		return nil, err
	}
	return &createdPolicyOut{Status: 201, ETag: etag(p.Version), Location: "/api/v1/sla/policies/" + p.ID, Body: p}, nil
}

func (s *Server) getPolicy(ctx context.Context, in *idPath) (*policyOut, error) {
	p, err := s.SLA.Policy(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &policyOut{ETag: etag(p.Version), Body: p}, nil
}

type replacePolicyIn struct {
	ID      string `path:"id"`
	IfMatch string `header:"If-Match"`
	Body    policyBody
}

func (s *Server) replacePolicy(ctx context.Context, in *replacePolicyIn) (*policyOut, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	p, err := s.SLA.UpdatePolicy(ctx, in.ID, v, in.Body.policy())
	if err != nil {
		return nil, err
	}
	return &policyOut{ETag: etag(p.Version), Body: p}, nil
}

type dueIn struct {
	Assignee   string `query:"assignee" doc:"Staff id, \"me\" or \"none\""`
	Department string `query:"department" doc:"Department id or \"none\""`
	Limit      int    `query:"limit" minimum:"1" maximum:"100" default:"25"`
}

type dueOut struct {
	Body struct {
		Items []sla.DueItem `json:"items"`
	}
}

func (s *Server) slaDue(ctx context.Context, in *dueIn) (*dueOut, error) {
	f := sla.DueFilter{Assignee: in.Assignee, Department: in.Department, Limit: in.Limit}
	if f.Assignee == "me" {
		f.Assignee = kefu.ActorFrom(ctx).ID
	}
	items, err := s.SLA.Due(ctx, f)
	if err != nil {
		return nil, inQuery(err)
	}
	out := &dueOut{}
	out.Body.Items = items
	return out, nil
}

type summariesIn struct {
	IDs []string `query:"ids" maxItems:"100" doc:"Comma-separated ticket ids"`
}

type summariesOut struct {
	Body struct {
		Tickets []sla.Summary `json:"tickets"`
	}
}

func (s *Server) slaSummaries(ctx context.Context, in *summariesIn) (*summariesOut, error) {
	items, err := s.SLA.Summaries(ctx, splitList(in.IDs))
	if err != nil {
		return nil, inQuery(err)
	}
	out := &summariesOut{}
	out.Body.Tickets = items
	return out, nil
}

type ticketSLAOut struct{ Body *sla.TicketSLA }

func (s *Server) ticketSLA(ctx context.Context, in *idPath) (*ticketSLAOut, error) {
	v, err := s.SLA.ForTicket(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &ticketSLAOut{Body: v}, nil
}

type agreeIn struct {
	ID   string `path:"id"`
	Body sla.NewAgreement
}

type agreeOut struct {
	Status int
	Body   *sla.Agreement
}

func (s *Server) agreeNextContact(ctx context.Context, in *agreeIn) (*agreeOut, error) {
	ag, err := s.SLA.Agree(ctx, in.ID, in.Body)
	if err != nil {
		return nil, err
	}
	return &agreeOut{Status: 201, Body: ag}, nil
}

type waiveIn struct {
	ID   string `path:"id"`
	Body struct {
		Reason string `json:"reason" maxLength:"1000"`
	}
}

func (s *Server) waiveProgress(ctx context.Context, in *waiveIn) (*ticketSLAOut, error) {
	if err := s.SLA.Waive(ctx, in.ID, in.Body.Reason); err != nil {
		return nil, err
	}
	return s.ticketSLA(ctx, &idPath{ID: in.ID})
}

type notificationsIn struct {
	Unread bool   `query:"unread" doc:"Only notifications not yet read"`
	Cursor string `query:"cursor" doc:"Id of the last notification seen"`
	Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
}

type notificationsOut struct {
	Body struct {
		Notifications []sla.Notification `json:"notifications"`
	}
}

func (s *Server) listNotifications(ctx context.Context, in *notificationsIn) (*notificationsOut, error) {
	ns, err := s.SLA.Notifications(ctx, in.Unread, in.Cursor, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &notificationsOut{}
	out.Body.Notifications = ns
	return out, nil
}

type notificationOut struct{ Body *sla.Notification }

func (s *Server) readNotification(ctx context.Context, in *idPath) (*notificationOut, error) {
	n, err := s.SLA.MarkRead(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &notificationOut{Body: n}, nil
}

type whatIfIn struct {
	Body struct {
		Calendar calendarBody `json:"calendar"`
		Start    *time.Time   `json:"start,omitempty" doc:"With minutes: when the request arrives"`
		Minutes  float64      `json:"minutes,omitempty" minimum:"0" maximum:"1000000"`
		From     *time.Time   `json:"from,omitempty" doc:"With to: measure business time between two instants"`
		To       *time.Time   `json:"to,omitempty"`
	}
}

type whatIfOut struct {
	Body struct {
		Due             *time.Time `json:"due,omitempty" doc:"In the calendar's time zone"`
		BusinessMinutes *float64   `json:"business_minutes,omitempty"`
	}
}

// calendarWhatIf answers the what-if questions for a draft calendar, as
// kefu sla simulate and between do for a file.
func (s *Server) calendarWhatIf(ctx context.Context, in *whatIfIn) (*whatIfOut, error) {
	b := in.Body
	cal, err := calendar.New(b.Calendar.spec())
	if err != nil {
		return nil, underField("calendar.", err)
	}
	out := &whatIfOut{}
	if b.Start != nil {
		due := cal.Add(*b.Start, time.Duration(b.Minutes*float64(time.Minute)))
		out.Body.Due = &due
	}
	if (b.From == nil) != (b.To == nil) {
		return nil, kefu.Fieldf("to", "from and to go together")
	}
	if b.From != nil {
		m := cal.Between(*b.From, *b.To).Minutes()
		out.Body.BusinessMinutes = &m
	}
	if out.Body.Due == nil && out.Body.BusinessMinutes == nil {
		return nil, kefu.Fieldf("start", "ask something: start and minutes, or from and to")
	}
	return out, nil
}

// underField places a nested value's field errors under prefix.
func underField(prefix string, err error) error {
	var e *kefu.Error
	if !errors.As(err, &e) {
		return err
	}
	c := *e
	c.Fields = make([]kefu.FieldError, len(e.Fields))
	for i, f := range e.Fields {
		c.Fields[i] = kefu.FieldError{Field: prefix + f.Field, Message: f.Message}
	}
	return &c
}
