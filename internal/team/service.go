package team

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/cache"
	"github.com/kefu-desk/kefu/internal/database"
)

// Service manages departments and staff.
type Service struct {
	DB *database.DB
	// Now is the clock; nil means time.Now in UTC truncated to
	// microseconds (what both engines store).
	Now func() time.Time
	// Hash turns a password into the string stored in staff.password_hash
	// (auth.Service.HashPassword). Required only to set passwords.
	Hash func(password string) (string, error)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC().Truncate(time.Microsecond) // documented default
}

func (s *Service) hash(password string) (string, error) {
	if s.Hash == nil {
		return "", errors.New("team: Service.Hash is not set")
	}
	return s.Hash(password)
}

var errNotAdmin = kefu.Errorf(kefu.Forbidden, "only admins may manage staff and departments")

// adminScope is auth.ScopeAdmin (team cannot import auth): an admin
// acting through an API token also needs the token to hold it.
const adminScope = "admin"

func isAdmin(a kefu.Actor) bool { return a.CanAdmin() && a.HasScope(adminScope) }

func requireAdmin(ctx context.Context) error {
	if !isAdmin(kefu.ActorFrom(ctx)) {
		return errNotAdmin
	}
	return nil
}

// requireReader lets any staff member (or Kefu itself) read the team.
func requireReader(ctx context.Context) error {
	switch kefu.ActorFrom(ctx).Kind {
	case kefu.ActorStaff, kefu.ActorSystem:
		return nil
	case "":
		return kefu.Errorf(kefu.Unauthorized, "sign in to see the team")
	default:
		return kefu.Errorf(kefu.Forbidden, "only staff may see the team")
	}
}

// ---- departments ----

const departmentCols = `id, slug, name, name_zh, description, created_at`

func scanDepartment(r interface{ Scan(...any) error }) (Department, error) {
	var d Department
	err := r.Scan(&d.ID, &d.Slug, &d.Name, &d.NameZh, &d.Description, &d.CreatedAt)
	d.CreatedAt = d.CreatedAt.UTC()
	return d, err
}

func listDepartments(ctx context.Context, q database.Querier) ([]Department, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+departmentCols+` FROM departments ORDER BY slug`)
	if err != nil {
		return nil, fmt.Errorf("team: list departments: %w", err)
	}
	defer rows.Close()
	out := []Department{}
	for rows.Next() {
		d, err := scanDepartment(rows)
		if err != nil {
			return nil, fmt.Errorf("team: list departments: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// ListDepartments returns every department, by slug.
func (s *Service) ListDepartments(ctx context.Context) ([]Department, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	return listDepartments(ctx, s.DB.Read)
}

func getDepartment(ctx context.Context, q database.Querier, ref string) (Department, error) {
	col := "slug"
	if kefu.ValidID(ref) {
		col = "id"
	}
	d, err := scanDepartment(q.QueryRowContext(ctx, `SELECT `+departmentCols+` FROM departments WHERE `+col+` = $1`, ref))
	if errors.Is(err, sql.ErrNoRows) {
		return d, kefu.Errorf(kefu.NotFound, "no department %q", ref)
	}
	if err != nil {
		return d, fmt.Errorf("team: department %s: %w", ref, err)
	}
	return d, nil
}

// DepartmentBySlug returns the department with slug.
func (s *Service) DepartmentBySlug(ctx context.Context, slug string) (Department, error) {
	if err := requireReader(ctx); err != nil {
		return Department{}, err
	}
	d, err := scanDepartment(s.DB.Read.QueryRowContext(ctx, `SELECT `+departmentCols+` FROM departments WHERE slug = $1`, slug))
	if errors.Is(err, sql.ErrNoRows) {
		return d, kefu.Errorf(kefu.NotFound, "no department %q", slug)
	}
	if err != nil {
		return d, fmt.Errorf("team: department %s: %w", slug, err)
	}
	return d, nil
}

// GetDepartment returns the department with id or slug ref.
func (s *Service) GetDepartment(ctx context.Context, ref string) (Department, error) {
	if err := requireReader(ctx); err != nil {
		return Department{}, err
	}
	return getDepartment(ctx, s.DB.Read, ref)
}

func (s *Service) slugConflict(err error) error {
	if s.DB.Dialect.IsUniqueViolation(err) {
		return &kefu.Error{Code: kefu.Conflict, Message: "a department with this slug exists",
			Fields: []kefu.FieldError{{Field: "slug", Message: "already in use"}}}
	}
	return err
}

// CreateDepartment adds a department. Admins only.
func (s *Service) CreateDepartment(ctx context.Context, in NewDepartment) (Department, error) {
	if err := requireAdmin(ctx); err != nil {
		return Department{}, err
	}
	if err := in.validate(); err != nil {
		return Department{}, err
	}
	d := Department{ID: kefu.NewID(), Slug: in.Slug, Name: in.Name, NameZh: in.NameZh, Description: in.Description, CreatedAt: s.now()}
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO departments (id, slug, name, name_zh, description, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, d.ID, d.Slug, d.Name, d.NameZh, d.Description, d.CreatedAt)
		if err != nil {
			return s.slugConflict(err)
		}
		ch := map[string]audit.Change{}
		audit.Diff(ch, "slug", nil, d.Slug)
		audit.Diff(ch, "name", nil, d.Name)
		audit.Diff(ch, "name_zh", nil, d.NameZh)
		audit.Diff(ch, "description", nil, d.Description)
		return audit.Record(ctx, tx, d.CreatedAt, audit.Entry{Action: "create", Entity: "department", EntityID: d.ID, Changes: ch})
	})
	if err != nil {
		return Department{}, fmt.Errorf("team: create department: %w", err)
	}
	return d, nil
}

// UpdateDepartment changes a department (by id or slug). Admins only.
func (s *Service) UpdateDepartment(ctx context.Context, ref string, p DepartmentPatch) (Department, error) {
	if err := requireAdmin(ctx); err != nil {
		return Department{}, err
	}
	var after Department
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		before, err := getDepartment(ctx, tx, ref)
		if err != nil {
			return err
		}
		in := NewDepartment{Slug: before.Slug, Name: before.Name, NameZh: before.NameZh, Description: before.Description}
		if p.Slug != nil {
			in.Slug = *p.Slug
		}
		if p.Name != nil {
			in.Name = *p.Name
		}
		if p.NameZh != nil {
			in.NameZh = *p.NameZh
		}
		if p.Description != nil {
			in.Description = *p.Description
		}
		if err := in.validate(); err != nil {
			return err
		}
		after = before
		after.Slug, after.Name, after.NameZh, after.Description = in.Slug, in.Name, in.NameZh, in.Description
		ch := map[string]audit.Change{}
		audit.Diff(ch, "slug", before.Slug, after.Slug)
		audit.Diff(ch, "name", before.Name, after.Name)
		audit.Diff(ch, "name_zh", before.NameZh, after.NameZh)
		audit.Diff(ch, "description", before.Description, after.Description)
		if len(ch) == 0 {
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE departments SET slug = $1, name = $2, name_zh = $3, description = $4 WHERE id = $5`,
			after.Slug, after.Name, after.NameZh, after.Description, after.ID)
		if err != nil {
			return s.slugConflict(err)
		}
		return audit.Record(ctx, tx, s.now(), audit.Entry{Action: "update", Entity: "department", EntityID: after.ID, Changes: ch})
	})
	if err != nil {
		return Department{}, fmt.Errorf("team: update department: %w", err)
	}
	return after, nil
}

// resolveDepartments turns ids or slugs into sorted, distinct ids,
// reporting each unknown one as field "departments[i]".
func resolveDepartments(ctx context.Context, q database.Querier, refs []string, fs *kefu.Fields) ([]string, error) {
	ids := []string{}
	if len(refs) == 0 {
		return ids, nil
	}
	all, err := listDepartments(ctx, q)
	if err != nil {
		return nil, err
	}
	for i, ref := range refs {
		ref = strings.TrimSpace(ref)
		j := slices.IndexFunc(all, func(d Department) bool { return d.ID == strings.ToLower(ref) || d.Slug == ref })
		if j < 0 {
			fs.Add(fmt.Sprintf("departments[%d]", i), "no department %q", ref)
			continue
		}
		ids = append(ids, all[j].ID)
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// ---- staff ----

const staffCols = `id, email, name, role, language, disabled_at, created_at, updated_at`

// scanStaff scans staffCols, then extra.
func scanStaff(r interface{ Scan(...any) error }, extra ...any) (Staff, error) {
	var st Staff
	var role string
	var disabled sql.NullTime
	err := r.Scan(append([]any{&st.ID, &st.Email, &st.Name, &role, &st.Language, &disabled, &st.CreatedAt, &st.UpdatedAt}, extra...)...)
	st.Role = kefu.Role(role)
	st.CreatedAt, st.UpdatedAt = st.CreatedAt.UTC(), st.UpdatedAt.UTC()
	if disabled.Valid {
		t := disabled.Time.UTC()
		st.Disabled, st.DisabledAt = true, &t
	}
	st.Departments = []string{}
	return st, err
}

// fillDepartments sets Departments on each of list.
func fillDepartments(ctx context.Context, q database.Querier, list []Staff) error {
	if len(list) == 0 {
		return nil
	}
	idx := make(map[string]int, len(list))
	args := make([]any, len(list))
	for i, st := range list {
		idx[st.ID] = i
		args[i] = st.ID
	}
	rows, err := q.QueryContext(ctx, `SELECT staff_id, department_id FROM staff_departments
		WHERE staff_id IN (`+database.Placeholders(1, len(args))+`) ORDER BY staff_id, department_id`, args...)
	if err != nil {
		return fmt.Errorf("team: staff departments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sid, did string
		if err := rows.Scan(&sid, &did); err != nil {
			return fmt.Errorf("team: staff departments: %w", err)
		}
		if i, ok := idx[sid]; ok {
			list[i].Departments = append(list[i].Departments, did)
		}
	}
	return rows.Err()
}

func getStaff(ctx context.Context, q database.Querier, col, v string) (Staff, error) {
	if col == "id" && !kefu.ValidID(v) {
		return Staff{}, kefu.Errorf(kefu.NotFound, "no staff member %q", v)
	}
	// One query with the departments: every API request and page starts
	// here (ActorFor), and on PostgreSQL each query is a round trip.
	var depts string
	st, err := scanStaff(q.QueryRowContext(ctx, `SELECT `+staffCols+`,
		COALESCE((SELECT string_agg(CAST(d.department_id AS text), ',' ORDER BY d.department_id)
			FROM staff_departments d WHERE d.staff_id = staff.id), '')
		FROM staff WHERE `+col+` = $1`, v), &depts)
	if errors.Is(err, sql.ErrNoRows) {
		return Staff{}, kefu.Errorf(kefu.NotFound, "no staff member %q", v)
	}
	if err != nil {
		return Staff{}, fmt.Errorf("team: staff %s: %w", v, err)
	}
	if depts != "" {
		st.Departments = strings.Split(depts, ",")
	}
	return st, nil
}

// GetStaff returns the staff member with id.
func (s *Service) GetStaff(ctx context.Context, id string) (Staff, error) {
	if err := requireReader(ctx); err != nil {
		return Staff{}, err
	}
	return getStaff(ctx, s.DB.Read, "id", id)
}

// StaffByEmail returns the staff member with email (any case).
func (s *Service) StaffByEmail(ctx context.Context, email string) (Staff, error) {
	if err := requireReader(ctx); err != nil {
		return Staff{}, err
	}
	return getStaff(ctx, s.DB.Read, "email", NormalizeEmail(email))
}

// ListStaff returns the staff f selects, by name.
func (s *Service) ListStaff(ctx context.Context, f StaffFilter) ([]Staff, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	where, args := "WHERE 1=1", []any{}
	add := func(cond string, v any) {
		args = append(args, v)
		where += fmt.Sprintf(" AND "+cond, len(args))
	}
	if f.Role != "" {
		if !slices.Contains(kefu.Roles, f.Role) {
			return nil, kefu.Fieldf("role", "must be one of %s", joinRoles())
		}
		add("s.role = $%d", string(f.Role))
	}
	if f.Department != "" {
		d, err := getDepartment(ctx, s.DB.Read, f.Department)
		if kefu.IsCode(err, kefu.NotFound) {
			return nil, kefu.Fieldf("department", "no department %q", f.Department)
		}
		if err != nil {
			return nil, err
		}
		add("EXISTS (SELECT 1 FROM staff_departments sd WHERE sd.staff_id = s.id AND sd.department_id = $%d)", d.ID)
	}
	if !f.IncludeDisabled {
		where += " AND s.disabled_at IS NULL"
	}
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT s.id, s.email, s.name, s.role, s.language, s.disabled_at, s.created_at, s.updated_at
		FROM staff s `+where+` ORDER BY s.name, s.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("team: list staff: %w", err)
	}
	list := []Staff{}
	for rows.Next() {
		st, err := scanStaff(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("team: list staff: %w", err)
		}
		list = append(list, st)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("team: list staff: %w", err)
	}
	if err := fillDepartments(ctx, s.DB.Read, list); err != nil {
		return nil, err
	}
	return list, nil
}

func (s *Service) emailConflict(err error) error {
	if s.DB.Dialect.IsUniqueViolation(err) {
		return &kefu.Error{Code: kefu.Conflict, Message: "a staff member with this email exists",
			Fields: []kefu.FieldError{{Field: "email", Message: "already in use"}}}
	}
	return err
}

func setDepartments(ctx context.Context, tx *sql.Tx, staffID string, ids []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM staff_departments WHERE staff_id = $1`, staffID); err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `INSERT INTO staff_departments (staff_id, department_id) VALUES ($1, $2)`, staffID, id); err != nil {
			return err
		}
	}
	return nil
}

// CreateStaff adds a staff account, reporting every invalid field at
// once. Admins only.
func (s *Service) CreateStaff(ctx context.Context, in NewStaff) (Staff, error) {
	if err := requireAdmin(ctx); err != nil {
		return Staff{}, err
	}
	in.Email = NormalizeEmail(in.Email)
	in.Name = strings.TrimSpace(in.Name)
	if in.Language == "" {
		in.Language = "en"
	}
	var fs kefu.Fields
	if msg := checkEmail(in.Email); msg != "" {
		fs.Add("email", "%s", msg)
	}
	checkName(&fs, "name", in.Name, true, 200)
	checkRole(&fs, in.Role)
	checkLanguage(&fs, in.Language)
	if in.Password != "" {
		if msg := CheckPassword(in.Password); msg != "" {
			fs.Add("password", "%s", msg)
		}
	}
	deps, err := resolveDepartments(ctx, s.DB.Read, in.Departments, &fs)
	if err != nil {
		return Staff{}, err
	}
	if err := fs.Err(); err != nil {
		return Staff{}, err
	}
	hash := ""
	if in.Password != "" {
		if hash, err = s.hash(in.Password); err != nil {
			return Staff{}, fmt.Errorf("team: hash password: %w", err)
		}
	}
	now := s.now()
	st := Staff{ID: kefu.NewID(), Email: in.Email, Name: in.Name, Role: in.Role, Language: in.Language,
		Departments: deps, CreatedAt: now, UpdatedAt: now}
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO staff (id, email, name, role, language, password_hash, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, st.ID, st.Email, st.Name, string(st.Role), st.Language, hash, now, now)
		if err != nil {
			return s.emailConflict(err)
		}
		if err := setDepartments(ctx, tx, st.ID, deps); err != nil {
			return err
		}
		ch := map[string]audit.Change{}
		audit.Diff(ch, "email", nil, st.Email)
		audit.Diff(ch, "name", nil, st.Name)
		audit.Diff(ch, "role", nil, string(st.Role))
		audit.Diff(ch, "language", nil, st.Language)
		audit.Diff(ch, "departments", nil, st.Departments)
		audit.Diff(ch, "password_set", nil, hash != "")
		return audit.Record(ctx, tx, now, audit.Entry{Action: "create", Entity: "staff", EntityID: st.ID, Changes: ch})
	})
	if err != nil {
		return Staff{}, fmt.Errorf("team: create staff: %w", err)
	}
	return st, nil
}

// ensureAdminRemains fails with Conflict when no enabled admin other than
// id would be left. The no-op UPDATE first locks every enabled admin row,
// so two transactions demoting or disabling different admins at once on
// PostgreSQL queue up instead of both seeing "one other admin left"
// (SQLite has a single writer already).
func ensureAdminRemains(ctx context.Context, tx *sql.Tx, id, what string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE staff SET updated_at = updated_at WHERE role = 'admin' AND disabled_at IS NULL`); err != nil {
		return err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM staff WHERE role = 'admin' AND disabled_at IS NULL AND id <> $1`, id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return kefu.Errorf(kefu.Conflict, "cannot %s the last enabled admin; make someone else an admin first", what)
	}
	return nil
}

// UpdateStaff changes name, role, language or departments: admins may
// change anyone; others only their own name and language.
func (s *Service) UpdateStaff(ctx context.Context, id string, p StaffPatch) (Staff, error) {
	// Anyone may change their own name and language; role and
	// departments are for admins.
	a := kefu.ActorFrom(ctx)
	own := a.Kind == kefu.ActorStaff && a.ID == id && p.Role == nil && p.Departments == nil
	if err := requireAdmin(ctx); err != nil && !own {
		return Staff{}, err
	}
	var after Staff
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		before, err := getStaff(ctx, tx, "id", id)
		if err != nil {
			return err
		}
		after = before
		var fs kefu.Fields
		if p.Name != nil {
			after.Name = strings.TrimSpace(*p.Name)
			checkName(&fs, "name", after.Name, true, 200)
		}
		if p.Role != nil {
			after.Role = *p.Role
			checkRole(&fs, after.Role)
		}
		if p.Language != nil {
			after.Language = *p.Language
			checkLanguage(&fs, after.Language)
		}
		if p.Departments != nil {
			deps, err := resolveDepartments(ctx, tx, *p.Departments, &fs)
			if err != nil {
				return err
			}
			after.Departments = deps
		}
		if err := fs.Err(); err != nil {
			return err
		}
		ch := map[string]audit.Change{}
		audit.Diff(ch, "name", before.Name, after.Name)
		audit.Diff(ch, "role", string(before.Role), string(after.Role))
		audit.Diff(ch, "language", before.Language, after.Language)
		audit.Diff(ch, "departments", before.Departments, after.Departments)
		if len(ch) == 0 {
			return nil
		}
		if before.Role == kefu.RoleAdmin && after.Role != kefu.RoleAdmin && !before.Disabled {
			if err := ensureAdminRemains(ctx, tx, id, "demote"); err != nil {
				return err
			}
		}
		after.UpdatedAt = s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE staff SET name = $1, role = $2, language = $3, updated_at = $4 WHERE id = $5`,
			after.Name, string(after.Role), after.Language, after.UpdatedAt, id); err != nil {
			return err
		}
		if _, ok := ch["departments"]; ok {
			if err := setDepartments(ctx, tx, id, after.Departments); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, after.UpdatedAt, audit.Entry{Action: "update", Entity: "staff", EntityID: id, Changes: ch})
	})
	actors.Delete(actorKey{s.DB, id})
	if err != nil {
		return Staff{}, fmt.Errorf("team: update staff: %w", err)
	}
	return after, nil
}

// SetPassword sets a staff member's password. Admins may set anyone's;
// everyone may set their own (auth.Service.ChangePassword checks the
// current password first). The audit entry never holds the hash.
func (s *Service) SetPassword(ctx context.Context, id, password string) error {
	a := kefu.ActorFrom(ctx)
	if !isAdmin(a) && !(a.Kind == kefu.ActorStaff && a.ID == id) {
		return kefu.Errorf(kefu.Forbidden, "only admins may set another staff member's password")
	}
	if msg := CheckPassword(password); msg != "" {
		return kefu.Fieldf("password", "%s", msg)
	}
	if !kefu.ValidID(id) {
		return kefu.Errorf(kefu.NotFound, "no staff member %q", id)
	}
	hash, err := s.hash(password)
	if err != nil {
		return fmt.Errorf("team: hash password: %w", err)
	}
	now := s.now()
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE staff SET password_hash = $1, updated_at = $2 WHERE id = $3`, hash, now, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return kefu.Errorf(kefu.NotFound, "no staff member %q", id)
		}
		return audit.Record(ctx, tx, now, audit.Entry{Action: "password", Entity: "staff", EntityID: id})
	})
	if err != nil {
		return fmt.Errorf("team: set password: %w", err)
	}
	return nil
}

// Disable stops a staff member from signing in or using API tokens; the
// reason goes in the audit entry. Disabling a disabled account changes
// nothing. The last enabled admin cannot be disabled (Conflict). Admins
// only.
func (s *Service) Disable(ctx context.Context, id, reason string) (Staff, error) {
	return s.setDisabled(ctx, id, true, strings.TrimSpace(reason))
}

// Enable lets a disabled staff member sign in again. Admins only.
func (s *Service) Enable(ctx context.Context, id string) (Staff, error) {
	return s.setDisabled(ctx, id, false, "")
}

func (s *Service) setDisabled(ctx context.Context, id string, disable bool, reason string) (Staff, error) {
	if err := requireAdmin(ctx); err != nil {
		return Staff{}, err
	}
	var st Staff
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if st, err = getStaff(ctx, tx, "id", id); err != nil {
			return err
		}
		if st.Disabled == disable {
			return nil
		}
		now := s.now()
		var at any
		action := "enable"
		ch := map[string]audit.Change{}
		if disable {
			if st.Role == kefu.RoleAdmin {
				if err := ensureAdminRemains(ctx, tx, id, "disable"); err != nil {
					return err
				}
			}
			at, action = now, "disable"
			st.Disabled, st.DisabledAt = true, &now
			audit.Diff(ch, "disabled", false, true)
			if reason != "" {
				ch["reason"] = audit.Change{After: reason}
			}
		} else {
			st.Disabled, st.DisabledAt = false, nil
			audit.Diff(ch, "disabled", true, false)
		}
		st.UpdatedAt = now
		if _, err := tx.ExecContext(ctx, `UPDATE staff SET disabled_at = $1, updated_at = $2 WHERE id = $3`, at, now, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, audit.Entry{Action: action, Entity: "staff", EntityID: id, Changes: ch})
	})
	actors.Delete(actorKey{s.DB, id})
	if err != nil {
		return Staff{}, fmt.Errorf("team: %s staff: %w", map[bool]string{true: "disable", false: "enable"}[disable], err)
	}
	return st, nil
}

// ActorFor returns the actor for an enabled staff member, with role and
// departments, for sessions and API tokens. An unknown or disabled
// account is Unauthorized, so a session of someone disabled stops working
// on their next request to this instance, and within actorCacheTTL on
// the others. It checks no permissions: callers have already
// authenticated staffID.
func (s *Service) ActorFor(ctx context.Context, staffID string) (kefu.Actor, error) {
	now := time.Now()
	if a, ok := actors.Get(actorKey{s.DB, staffID}, now); ok {
		return a, nil
	}
	st, err := getStaff(ctx, s.DB.Read, "id", staffID)
	if kefu.IsCode(err, kefu.NotFound) {
		return kefu.Actor{}, kefu.Errorf(kefu.Unauthorized, "no such staff account")
	}
	if err != nil {
		return kefu.Actor{}, err
	}
	if st.Disabled {
		return kefu.Actor{}, kefu.Errorf(kefu.Unauthorized, "this staff account is disabled")
	}
	a := kefu.Actor{Kind: kefu.ActorStaff, ID: st.ID, Name: st.Name, Role: st.Role, Departments: slices.Clip(st.Departments)}
	actors.Put(actorKey{s.DB, staffID}, a, now)
	return a, nil
}

// actorCacheTTL is how long ActorFor reuses what it read. Every request
// of a session or an API client starts with it. A change to someone's
// role, departments or account made through this package is seen at once
// by the instance that made it (which forgets the entry) and within this
// long by the others, like a revoked API token.
const actorCacheTTL = 5 * time.Second

// actors is the process's cache of staff actors, keyed by store.
var actors = cache.New[actorKey, kefu.Actor](actorCacheTTL)

type actorKey struct {
	db *database.DB
	id string
}

// Credentials returns what sign-in needs for email. It checks no
// permissions (nobody is signed in yet) and is meant for auth only.
func (s *Service) Credentials(ctx context.Context, email string) (Credentials, error) {
	var c Credentials
	var disabled sql.NullTime
	err := s.DB.Read.QueryRowContext(ctx, `SELECT id, password_hash, disabled_at FROM staff WHERE email = $1`,
		NormalizeEmail(email)).Scan(&c.StaffID, &c.PasswordHash, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return c, kefu.Errorf(kefu.NotFound, "no staff member %q", email)
	}
	if err != nil {
		return c, fmt.Errorf("team: credentials: %w", err)
	}
	c.Disabled = disabled.Valid
	return c, nil
}

// CredentialsByID is Credentials for a staff id.
func (s *Service) CredentialsByID(ctx context.Context, id string) (Credentials, error) {
	st, err := getStaff(ctx, s.DB.Read, "id", id)
	if err != nil {
		return Credentials{}, err
	}
	return s.Credentials(ctx, st.Email)
}

// ReplacePasswordHash swaps oldHash for newHash when the stored hash is
// still oldHash: auth calls it after a successful sign-in to upgrade the
// hash to current parameters. The password is unchanged, so nothing is
// audited. It reports whether the hash was replaced.
func (s *Service) ReplacePasswordHash(ctx context.Context, id, oldHash, newHash string) (bool, error) {
	var n int64
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE staff SET password_hash = $1 WHERE id = $2 AND password_hash = $3`, newHash, id, oldHash)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("team: replace password hash: %w", err)
	}
	return n == 1, nil
}
