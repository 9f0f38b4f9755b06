package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/auth"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/canned"
	"github.com/kefu-desk/kefu/internal/email"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/team"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// Admin pages: staff, departments, categories, custom fields, API
// tokens (admins) and the audit log (admins and auditors). Each form
// is saved by one service call, which is one transaction: a refused
// form changes nothing and comes back with every field's error under
// its input and the values as typed.

// adminPage is what every admin page shows.
type adminPage struct {
	Tab    string
	Tabs   []string // the admin tabs this console offers
	Views  []queueView
	Form   url.Values        // the values being edited
	Errors map[string]string // field → message
	Error  string            // a refusal not about one field
	Saved  string            // a success notice
	Secret string            // a token shown once

	Staff       []team.Staff
	Departments []team.Department
	Categories  []ticket.Category
	Fields      []ticket.CustomField
	Tokens      []auth.Token
	Audit       []audit.Entry
	Member      *team.Staff
	Department  *team.Department
	Dir         *directory
	NextBefore  string

	Calendars []calendar.Record
	Calendar  *calendar.Record
	Sim       *simulation
	Query     url.Values // a calendar page's simulator questions
	Policies  []sla.Policy
	Policy    *sla.Policy
	Canned    []canned.Reply // the shared ones
	Tags      []ticket.TagCount

	Mailboxes []*email.Mailbox // passwords hidden
	Mailbox   *email.Mailbox   // the one being edited, passwords hidden
	Deny      []email.DenyEntry
	Check     *email.Check // a connection test's result

	ChatSnippet string // the script tag a shop pastes

	Workflows  *workflowAdminData
	Aftersales *aftersalesAdminData
}

func (s *Server) adminRoutes(r chi.Router) {
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		if kefu.ActorFrom(r.Context()).CanAdmin() {
			http.Redirect(w, r, "/admin/staff", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/admin/audit", http.StatusSeeOther)
	})
	r.With(s.require(kefu.Actor.CanReadAudit)).Get("/audit", s.adminAudit)
	r.Group(func(r chi.Router) {
		r.Use(s.require(kefu.Actor.CanAdmin))
		r.Get("/staff", s.adminStaff)
		r.Post("/staff", s.adminCreateStaff)
		r.Get("/staff/{id}", s.adminMember)
		r.Post("/staff/{id}", s.adminUpdateStaff)
		r.Post("/staff/{id}/password", s.adminSetPassword)
		r.Post("/staff/{id}/disable", s.adminDisable)
		r.Post("/staff/{id}/enable", s.adminEnable)
		r.Get("/departments", s.adminDepartments)
		r.Post("/departments", s.adminCreateDepartment)
		r.Get("/departments/{id}", s.adminDepartment)
		r.Post("/departments/{id}", s.adminUpdateDepartment)
		r.Get("/categories", s.adminCategories)
		r.Post("/categories", s.adminSaveCategory)
		r.Get("/fields", s.adminFields)
		r.Post("/fields", s.adminSaveField)
		r.Get("/tokens", s.adminTokens)
		r.Post("/tokens", s.adminCreateToken)
		r.Post("/tokens/{id}/revoke", s.adminRevokeToken)
		r.Get("/tags", s.adminTags)
		r.Post("/tags/rename", s.adminRenameTag)
		r.Post("/tags/delete", s.adminDeleteTag)
		if s.Canned != nil {
			s.cannedRoutes(r)
		}
		if s.Calendars != nil {
			s.calendarRoutes(r)
		}
		if s.Mailboxes != nil {
			s.mailboxRoutes(r)
		}
		if s.Calendars != nil && s.SLA != nil {
			s.policyRoutes(r)
		}
		if s.Chat != nil {
			s.chatAdminRoutes(r)
		}
		if s.Workflows != nil {
			s.workflowAdminRoutes(r)
		}
		if s.Aftersales != nil {
			s.aftersalesAdminRoutes(r)
		}
	})
}

// require refuses actors without a permission; the services check again.
func (s *Server) require(can func(kefu.Actor) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !can(kefu.ActorFrom(r.Context())) {
				s.fail(w, r, kefu.Errorf(kefu.Forbidden, "%s", T(r.Context(), "admin.forbidden")))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func (s *Server) adminBase(ctx context.Context, tab string) (*adminPage, error) {
	vs, err := s.views(ctx)
	if err != nil {
		return nil, err
	}
	return &adminPage{Tab: tab, Tabs: s.adminTabs(), Views: vs, Form: url.Values{}}, nil
}

// adminTabs lists the admin pages; those of optional services appear
// only when the console has them.
func (s *Server) adminTabs() []string {
	tabs := []string{"staff", "departments", "categories", "fields", "tags", "tokens"}
	if s.Canned != nil {
		tabs = append(tabs, "canned")
	}
	if s.Calendars != nil {
		tabs = append(tabs, "calendars")
	}
	if s.Calendars != nil && s.SLA != nil {
		tabs = append(tabs, "sla")
	}
	if s.Mailboxes != nil {
		tabs = append(tabs, "mailboxes")
	}
	if s.Chat != nil {
		tabs = append(tabs, "chat")
	}
	if s.Workflows != nil {
		tabs = append(tabs, "workflows")
	}
	if s.Aftersales != nil {
		tabs = append(tabs, "aftersales")
	}
	return tabs
}

// formValueAt is the i-th value of a repeated form field, or "".
func formValueAt(f url.Values, name string, i int) string {
	if vs := f[name]; i < len(vs) {
		return vs[i]
	}
	return ""
}

// refused fills the page's errors from err; it reports false for errors
// that are not the user's to fix (shown as an error page instead).
func (p *adminPage) refused(r *http.Request, err error) bool {
	switch kefu.ErrorCode(err) {
	case kefu.Invalid, kefu.Conflict, kefu.Forbidden, kefu.NotFound:
	default:
		return false
	}
	p.Errors = fieldErrors(err)
	if len(p.Errors) == 0 {
		p.Error = message(r, err)
	}
	return true
}

// show renders p, or err when it is not a form refusal.
// listPage shows the admin page tab with its list (load), the notice of
// a save that redirected here, and the form as fill sets it: defaults, or
// the entry named by the URL's key, to edit.
func (s *Server) listPage(w http.ResponseWriter, r *http.Request, tab string, load func(context.Context, *adminPage) error,
	fill func(p *adminPage, key string)) {
	p, err := s.adminBase(r.Context(), tab)
	if err == nil && load != nil {
		err = load(r.Context(), p)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Saved = savedNotice(r)
	if fill != nil {
		fill(p, r.URL.Query().Get("key"))
	}
	s.show(w, r, p, nil, nil)
}

// post handles a form posted to admin page p (perr: p could not be
// built). save gets the form and returns the page to go to and the name
// of what it saved; a refusal shows p again, with the form as posted and
// its list reloaded (load).
func (s *Server) post(w http.ResponseWriter, r *http.Request, p *adminPage, perr error, load func(context.Context, *adminPage) error,
	save func(ctx context.Context, f url.Values) (to, saved string, err error)) {
	if perr != nil {
		s.fail(w, r, perr)
		return
	}
	p.Form = mustForm(r)
	to, saved, err := save(r.Context(), p.Form)
	if err == nil {
		sep := "?"
		if strings.Contains(to, "?") {
			sep = "&"
		}
		http.Redirect(w, r, to+sep+"saved="+url.QueryEscape(saved), http.StatusSeeOther)
		return
	}
	s.show(w, r, p, err, load)
}

// wholeNumber reads the form's field name, which must be a whole number.
func wholeNumber(f url.Values, name string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(f.Get(name)))
	if err != nil {
		return 0, kefu.Fieldf(name, "must be a whole number")
	}
	return n, nil
}

// setArchived ticks an edit form's "archived" box for an archived entry.
func setArchived(f url.Values, archived bool) {
	if archived {
		f.Set("archived", "1")
	}
}

func (s *Server) show(w http.ResponseWriter, r *http.Request, p *adminPage, err error, list func(context.Context, *adminPage) error) {
	code := http.StatusOK
	if err != nil {
		if !p.refused(r, err) {
			s.fail(w, r, err)
			return
		}
		code = status(err)
	}
	if list != nil {
		if lerr := list(r.Context(), p); lerr != nil {
			s.fail(w, r, lerr)
			return
		}
	}
	render(w, r, code, adminView(p))
}

// ---- staff ----

func (s *Server) listStaff(ctx context.Context, p *adminPage) error {
	var err error
	if p.Staff, err = s.Team.ListStaff(ctx, team.StaffFilter{IncludeDisabled: true}); err != nil {
		return err
	}
	p.Departments, err = s.Team.ListDepartments(ctx)
	if err == nil {
		p.Dir = &directory{depts: map[string]team.Department{}}
		for _, d := range p.Departments {
			p.Dir.depts[d.ID] = d
		}
	}
	return err
}

func (s *Server) adminStaff(w http.ResponseWriter, r *http.Request) {
	s.listPage(w, r, "staff", s.listStaff, func(p *adminPage, _ string) {
		p.Form.Set("role", string(kefu.RoleAgent))
		p.Form.Set("language", "zh-CN")
	})
}

func (s *Server) adminCreateStaff(w http.ResponseWriter, r *http.Request) {
	p, err := s.adminBase(r.Context(), "staff")
	s.post(w, r, p, err, s.listStaff, func(ctx context.Context, f url.Values) (string, string, error) {
		_, err := s.Team.CreateStaff(ctx, team.NewStaff{Email: f.Get("email"), Name: f.Get("name"),
			Role: kefu.Role(f.Get("role")), Language: f.Get("language"), Departments: f["departments"],
			Password: f.Get("password")})
		f.Del("password") // never echoed back
		return "/admin/staff", f.Get("email"), err
	})
}

func (s *Server) memberPage(ctx context.Context, id string) (*adminPage, error) {
	p, err := s.adminBase(ctx, "staff")
	if err != nil {
		return nil, err
	}
	st, err := s.Team.GetStaff(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.Departments, err = s.Team.ListDepartments(ctx); err != nil {
		return nil, err
	}
	p.Member = &st
	p.Form = url.Values{"name": {st.Name}, "role": {string(st.Role)}, "language": {st.Language}, "departments": st.Departments}
	return p, nil
}

func (s *Server) adminMember(w http.ResponseWriter, r *http.Request) {
	s.showAdmin(w, r, s.memberPage)
}

// showAdmin shows the admin page load builds for the id in the URL,
// with the notice of a save that redirected here.
func (s *Server) showAdmin(w http.ResponseWriter, r *http.Request, load func(ctx context.Context, id string) (*adminPage, error)) {
	p, err := load(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Saved = savedNotice(r)
	s.show(w, r, p, nil, nil)
}

func (s *Server) adminUpdateStaff(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	p, err := s.memberPage(r.Context(), id)
	s.post(w, r, p, err, nil, func(ctx context.Context, f url.Values) (string, string, error) {
		name, role, lang := f.Get("name"), kefu.Role(f.Get("role")), f.Get("language")
		deps := f["departments"]
		if deps == nil {
			deps = []string{}
		}
		_, err := s.Team.UpdateStaff(ctx, id, team.StaffPatch{Name: &name, Role: &role, Language: &lang, Departments: &deps})
		return "/admin/staff/" + id, name, err
	})
}

func (s *Server) adminSetPassword(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	p, err := s.memberPage(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.Team.SetPassword(ctx, id, r.PostFormValue("password")); err != nil {
		s.show(w, r, p, err, nil)
		return
	}
	http.Redirect(w, r, "/admin/staff/"+id+"?saved="+url.QueryEscape(T(ctx, "admin.password_set")), http.StatusSeeOther)
}

func (s *Server) adminDisable(w http.ResponseWriter, r *http.Request) {
	s.toggleStaff(w, r, func(ctx context.Context, id string) error {
		_, err := s.Team.Disable(ctx, id, strings.TrimSpace(r.PostFormValue("reason")))
		return err
	})
}

func (s *Server) adminEnable(w http.ResponseWriter, r *http.Request) {
	s.toggleStaff(w, r, func(ctx context.Context, id string) error {
		_, err := s.Team.Enable(ctx, id)
		return err
	})
}

func (s *Server) toggleStaff(w http.ResponseWriter, r *http.Request, do func(context.Context, string) error) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	if err := do(ctx, id); err != nil {
		p, perr := s.memberPage(ctx, id)
		if perr != nil {
			s.fail(w, r, perr)
			return
		}
		s.show(w, r, p, err, nil)
		return
	}
	http.Redirect(w, r, "/admin/staff/"+id, http.StatusSeeOther)
}

// ---- departments ----

func (s *Server) listDepartments(ctx context.Context, p *adminPage) error {
	var err error
	p.Departments, err = s.Team.ListDepartments(ctx)
	return err
}

func (s *Server) adminDepartments(w http.ResponseWriter, r *http.Request) {
	s.listPage(w, r, "departments", s.listDepartments, nil)
}

func (s *Server) adminCreateDepartment(w http.ResponseWriter, r *http.Request) {
	p, err := s.adminBase(r.Context(), "departments")
	s.post(w, r, p, err, s.listDepartments, func(ctx context.Context, f url.Values) (string, string, error) {
		_, err := s.Team.CreateDepartment(ctx, team.NewDepartment{Slug: f.Get("slug"), Name: f.Get("name"),
			NameZh: f.Get("name_zh"), Description: f.Get("description")})
		return "/admin/departments", f.Get("name"), err
	})
}

func (s *Server) departmentPage(ctx context.Context, id string) (*adminPage, error) {
	p, err := s.adminBase(ctx, "departments")
	if err != nil {
		return nil, err
	}
	d, err := s.Team.GetDepartment(ctx, id)
	if err != nil {
		return nil, err
	}
	p.Department = &d
	p.Form = url.Values{"slug": {d.Slug}, "name": {d.Name}, "name_zh": {d.NameZh}, "description": {d.Description}}
	return p, nil
}

func (s *Server) adminDepartment(w http.ResponseWriter, r *http.Request) {
	s.showAdmin(w, r, s.departmentPage)
}

func (s *Server) adminUpdateDepartment(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	p, err := s.departmentPage(r.Context(), id)
	s.post(w, r, p, err, nil, func(ctx context.Context, f url.Values) (string, string, error) {
		slug, name, zh, desc := f.Get("slug"), f.Get("name"), f.Get("name_zh"), f.Get("description")
		_, err := s.Team.UpdateDepartment(ctx, id, team.DepartmentPatch{Slug: &slug, Name: &name, NameZh: &zh, Description: &desc})
		return "/admin/departments/" + id, name, err
	})
}

// ---- categories and custom fields ----

func (s *Server) listCategories(ctx context.Context, p *adminPage) error {
	var err error
	p.Categories, err = s.Tickets.Categories(ctx)
	return err
}

func (s *Server) adminCategories(w http.ResponseWriter, r *http.Request) {
	s.listPage(w, r, "categories", s.listCategories, func(p *adminPage, key string) {
		p.Form.Set("position", strconv.Itoa(len(p.Categories)+1))
		for _, c := range p.Categories {
			if key != "" && c.Key == key {
				p.Form = url.Values{"key": {c.Key}, "name_en": {c.NameEn}, "name_zh": {c.NameZh}, "position": {strconv.Itoa(c.Position)}}
				setArchived(p.Form, c.Archived)
			}
		}
	})
}

func (s *Server) adminSaveCategory(w http.ResponseWriter, r *http.Request) {
	p, err := s.adminBase(r.Context(), "categories")
	s.post(w, r, p, err, s.listCategories, func(ctx context.Context, f url.Values) (string, string, error) {
		pos, err := wholeNumber(f, "position")
		if err == nil {
			err = s.Tickets.SaveCategory(ctx, ticket.Category{Key: strings.TrimSpace(f.Get("key")), NameEn: f.Get("name_en"),
				NameZh: f.Get("name_zh"), Position: pos, Archived: f.Get("archived") != ""})
		}
		return "/admin/categories", f.Get("name_en"), err
	})
}

func (s *Server) listFields(ctx context.Context, p *adminPage) error {
	var err error
	p.Fields, err = s.Tickets.CustomFields(ctx)
	return err
}

func (s *Server) adminFields(w http.ResponseWriter, r *http.Request) {
	s.listPage(w, r, "fields", s.listFields, func(p *adminPage, key string) {
		p.Form = url.Values{"type": {"text"}, "position": {strconv.Itoa(len(p.Fields) + 1)}}
		for _, f := range p.Fields {
			if key != "" && f.Key == key {
				p.Form = url.Values{"key": {f.Key}, "label_en": {f.LabelEn}, "label_zh": {f.LabelZh}, "type": {f.Type},
					"options": {strings.Join(f.Options, ", ")}, "position": {strconv.Itoa(f.Position)}}
				setArchived(p.Form, f.Archived)
			}
		}
	})
}

func (s *Server) adminSaveField(w http.ResponseWriter, r *http.Request) {
	p, err := s.adminBase(r.Context(), "fields")
	s.post(w, r, p, err, s.listFields, func(ctx context.Context, f url.Values) (string, string, error) {
		var opts []string
		for _, o := range strings.Split(f.Get("options"), ",") {
			if o = strings.TrimSpace(o); o != "" {
				opts = append(opts, o)
			}
		}
		pos, err := wholeNumber(f, "position")
		if err == nil {
			err = s.Tickets.SaveCustomField(ctx, ticket.CustomField{Key: strings.TrimSpace(f.Get("key")), LabelEn: f.Get("label_en"),
				LabelZh: f.Get("label_zh"), Type: f.Get("type"), Options: opts, Position: pos, Archived: f.Get("archived") != ""})
		}
		return "/admin/fields", f.Get("label_en"), err
	})
}

// ---- API tokens ----

func (s *Server) listTokens(ctx context.Context, p *adminPage) error {
	var err error
	if p.Tokens, err = s.Auth.ListTokens(ctx, ""); err != nil {
		return err
	}
	p.Dir, err = s.directory(ctx)
	return err
}

func (s *Server) adminTokens(w http.ResponseWriter, r *http.Request) {
	p, err := s.adminBase(r.Context(), "tokens")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.show(w, r, p, nil, s.listTokens)
}

func (s *Server) adminCreateToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := s.adminBase(ctx, "tokens")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Form = mustForm(r)
	var expires *time.Time
	if v := strings.TrimSpace(p.Form.Get("expires")); v != "" {
		t, perr := time.Parse(time.DateOnly, v)
		if perr != nil {
			s.show(w, r, p, kefu.Fieldf("expires_at", "must be a date like 2026-12-31"), s.listTokens)
			return
		}
		expires = &t
	}
	secret, _, err := s.Auth.CreateToken(ctx, kefu.ActorFrom(ctx).ID, p.Form.Get("name"), p.Form["scopes"], expires)
	if err == nil {
		// Shown once, in this response only; never in a URL.
		p.Secret, p.Form = secret, url.Values{}
	}
	s.show(w, r, p, err, s.listTokens)
}

func (s *Server) adminRevokeToken(w http.ResponseWriter, r *http.Request) {
	if _, err := s.Auth.RevokeToken(r.Context(), chi.URLParam(r, "id")); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/tokens", http.StatusSeeOther)
}

// ---- audit log ----

const auditPage = 100

func (s *Server) adminAudit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := s.adminBase(ctx, "audit")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	p.Form = url.Values{"entity": {q.Get("entity")}, "entity_id": {q.Get("entity_id")}}
	before := q.Get("before")
	if before != "" && !kefu.ValidID(before) {
		before = ""
	}
	entries, err := audit.List(ctx, s.DB.Read, audit.Filter{Entity: strings.TrimSpace(q.Get("entity")),
		EntityID: strings.TrimSpace(q.Get("entity_id")), Before: before, Limit: auditPage})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Audit = entries
	if len(entries) == auditPage {
		p.NextBefore = entries[len(entries)-1].ID
	}
	render(w, r, http.StatusOK, adminView(p))
}

// savedNotice is the "saved" line after a redirect.
func savedNotice(r *http.Request) string {
	if v := r.URL.Query().Get("saved"); v != "" {
		return T(r.Context(), "admin.saved", "Name", v)
	}
	return ""
}

// errFor finds a field's error, including element errors such as
// "departments[1]".
func errFor(errs map[string]string, name string) string {
	if m, ok := errs[name]; ok {
		return m
	}
	for k, m := range errs {
		if strings.HasPrefix(k, name+"[") || strings.HasPrefix(k, name+".") {
			return m
		}
	}
	return ""
}

func auditNextURL(p *adminPage) string {
	q := url.Values{"before": {p.NextBefore}}
	for _, k := range []string{"entity", "entity_id"} {
		if v := p.Form.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	return "/admin/audit?" + q.Encode()
}
