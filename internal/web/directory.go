package web

import (
	"context"
	"regexp"

	"github.com/kefu-desk/kefu/internal/team"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// directory holds the names a page shows for ids: staff, departments,
// categories. Each list is short (a shop's team), so it is read per page.
type directory struct {
	Staff       []team.Staff
	Departments []team.Department
	Categories  []ticket.Category
	Presence    map[string]string
	staff       map[string]team.Staff
	depts       map[string]team.Department
}

func (s *Server) directory(ctx context.Context) (*directory, error) {
	staff, err := s.Team.ListStaff(ctx, team.StaffFilter{})
	if err != nil {
		return nil, err
	}
	deps, err := s.Team.ListDepartments(ctx)
	if err != nil {
		return nil, err
	}
	cats, err := s.Tickets.Categories(ctx)
	if err != nil {
		return nil, err
	}
	pres, err := s.presence(ctx)
	if err != nil {
		return nil, err
	}
	d := &directory{Staff: staff, Departments: deps, Categories: cats, Presence: pres,
		staff: make(map[string]team.Staff, len(staff)), depts: make(map[string]team.Department, len(deps))}
	for _, st := range staff {
		d.staff[st.ID] = st
	}
	for _, dp := range deps {
		d.depts[dp.ID] = dp
	}
	return d, nil
}

// staffName is the name for a staff id, or "" for none.
func (d *directory) staffName(id string) string {
	if id == "" {
		return ""
	}
	if st, ok := d.staff[id]; ok {
		return st.Name
	}
	return id[:8]
}

func (d *directory) deptName(ctx context.Context, id string) string {
	if dp, ok := d.depts[id]; ok {
		return deptName(ctx, dp)
	}
	return ""
}

func (d *directory) categoryName(ctx context.Context, key string) string {
	for _, c := range d.Categories {
		if c.Key == key {
			return categoryLabel(ctx, c)
		}
	}
	return key
}

func categoryLabel(ctx context.Context, c ticket.Category) string {
	if lang(ctx) == "zh-CN" && c.NameZh != "" {
		return c.NameZh
	}
	return c.NameEn
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// humanize replaces the staff and department ids in a thread event
// ("assignee: none → 01a2…") with their names.
func (d *directory) humanize(ctx context.Context, text string) string {
	return uuidRE.ReplaceAllStringFunc(text, func(id string) string {
		if st, ok := d.staff[id]; ok {
			return st.Name
		}
		if dp, ok := d.depts[id]; ok {
			return deptName(ctx, dp)
		}
		return id
	})
}
