package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/aftersales"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/shop"
)

// Admin › After-sales: the reasons customers give, edited like ticket
// categories, and the settings (refund and complaint deadlines, the
// calendar for working days, return instructions, refusal rules).

// aftersalesAdminData is what the tab shows besides the admin page.
type aftersalesAdminData struct {
	Reasons   []aftersales.Reason
	Settings  *aftersales.Settings
	Calendars []calendar.Record
	// SettingsForm holds a refused settings form as typed.
	SettingsForm url.Values
}

func (s *Server) aftersalesAdminRoutes(r chi.Router) {
	r.Get("/aftersales", s.adminAftersales)
	r.Post("/aftersales/reasons", s.adminSaveReason)
	r.Post("/aftersales/settings", s.adminSaveAftersalesSettings)
}

func (s *Server) loadAftersalesAdmin(ctx context.Context, p *adminPage) error {
	d := &aftersalesAdminData{}
	var err error
	if d.Reasons, err = s.Aftersales.Reasons(ctx); err != nil {
		return err
	}
	if d.Settings, err = s.Aftersales.Settings(ctx); err != nil {
		return err
	}
	if s.Calendars != nil {
		if d.Calendars, err = s.Calendars.List(ctx); err != nil {
			return err
		}
	}
	if p.Aftersales != nil {
		d.SettingsForm = p.Aftersales.SettingsForm
	}
	p.Aftersales = d
	return nil
}

func (s *Server) adminAftersales(w http.ResponseWriter, r *http.Request) {
	s.listPage(w, r, "aftersales", s.loadAftersalesAdmin, func(p *adminPage, key string) {
		p.Form.Set("position", strconv.Itoa((len(p.Aftersales.Reasons)+1)*10))
		for _, rs := range p.Aftersales.Reasons {
			if key != "" && rs.Key == key {
				p.Form = url.Values{"key": {rs.Key}, "name_en": {rs.NameEn}, "name_zh": {rs.NameZh}, "basis": {string(rs.Basis)},
					"responsible": {string(rs.Responsible)}, "position": {strconv.Itoa(rs.Position)}}
				for _, k := range rs.Kinds {
					p.Form.Add("kinds", string(k))
				}
				setArchived(p.Form, rs.Archived)
			}
		}
	})
}

func (s *Server) adminSaveReason(w http.ResponseWriter, r *http.Request) {
	p, err := s.adminBase(r.Context(), "aftersales")
	s.post(w, r, p, err, s.loadAftersalesAdmin, func(ctx context.Context, f url.Values) (string, string, error) {
		pos, err := wholeNumber(f, "position")
		if err == nil {
			rs := aftersales.Reason{Key: strings.TrimSpace(f.Get("key")), NameEn: f.Get("name_en"), NameZh: f.Get("name_zh"),
				Basis: shop.Reason(f.Get("basis")), Responsible: aftersales.Party(f.Get("responsible")), Position: pos,
				Archived: f.Get("archived") != ""}
			for _, k := range f["kinds"] {
				rs.Kinds = append(rs.Kinds, aftersales.Kind(k))
			}
			_, err = s.Aftersales.SaveReason(ctx, rs)
		}
		return "/admin/aftersales", f.Get("name_en"), err
	})
}

func (s *Server) adminSaveAftersalesSettings(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := s.adminBase(ctx, "aftersales")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := mustForm(r)
	var fs kefu.Fields
	num := func(name string) int {
		n, err := strconv.Atoi(strings.TrimSpace(f.Get(name)))
		if err != nil {
			fs.Add(name, "must be a whole number")
		}
		return n
	}
	st := aftersales.Settings{CalendarID: f.Get("calendar_id"), RefundWorkingDays: num("refund_working_days"),
		RefundWarnMinutes: num("refund_warn_minutes"), ComplaintReplyHours: num("complaint_reply_hours"),
		ComplaintResolutionWorkingDays: num("complaint_resolution_working_days"), EscalateAfterMinutes: num("escalate_after_minutes"),
		ReturnAddress: f.Get("return_address"), SelfShipInstructions: f.Get("self_ship_instructions"),
		SelfShipInstructionsZh: f.Get("self_ship_instructions_zh"), RefusalRules: []aftersales.RefusalRule{}}
	// One rule a line: key | English | 中文.
	for i, line := range strings.Split(f.Get("refusal_rules"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		parts := strings.SplitN(line, "|", 3)
		if len(parts) < 2 {
			fs.Add("refusal_rules", "line %d: write key | English | 中文", i+1)
			continue
		}
		rule := aftersales.RefusalRule{Key: strings.TrimSpace(parts[0]), Explanation: strings.TrimSpace(parts[1])}
		if len(parts) == 3 {
			rule.ExplanationZh = strings.TrimSpace(parts[2])
		}
		st.RefusalRules = append(st.RefusalRules, rule)
	}
	err = fs.Err()
	if err == nil {
		version, _ := strconv.Atoi(f.Get("version"))
		_, err = s.Aftersales.SaveSettings(ctx, version, st)
	}
	if err == nil {
		http.Redirect(w, r, "/admin/aftersales?saved="+url.QueryEscape(T(ctx, "aftersales.settings")), http.StatusSeeOther)
		return
	}
	p.Aftersales = &aftersalesAdminData{SettingsForm: f}
	s.show(w, r, p, err, s.loadAftersalesAdmin)
}

// settingsValue is the settings form's value for name: as typed after a
// refusal, else as stored.
func settingsValue(d *aftersalesAdminData, name string) string {
	if d.SettingsForm != nil {
		return d.SettingsForm.Get(name)
	}
	st := d.Settings
	switch name {
	case "calendar_id":
		return st.CalendarID
	case "refund_working_days":
		return strconv.Itoa(st.RefundWorkingDays)
	case "refund_warn_minutes":
		return strconv.Itoa(st.RefundWarnMinutes)
	case "complaint_reply_hours":
		return strconv.Itoa(st.ComplaintReplyHours)
	case "complaint_resolution_working_days":
		return strconv.Itoa(st.ComplaintResolutionWorkingDays)
	case "escalate_after_minutes":
		return strconv.Itoa(st.EscalateAfterMinutes)
	case "return_address":
		return st.ReturnAddress
	case "self_ship_instructions":
		return st.SelfShipInstructions
	case "self_ship_instructions_zh":
		return st.SelfShipInstructionsZh
	case "refusal_rules":
		lines := make([]string, len(st.RefusalRules))
		for i, r := range st.RefusalRules {
			lines[i] = r.Key + " | " + r.Explanation + " | " + r.ExplanationZh
		}
		return strings.Join(lines, "\n")
	}
	return ""
}

func kindsOf(r aftersales.Reason) string {
	if len(r.Kinds) == 0 {
		return "*"
	}
	return reasonKinds(r)
}

// isRuleField reports whether a field error is about one refusal rule.
func isRuleField(k string) bool { return strings.HasPrefix(k, "refusal_rules[") }
