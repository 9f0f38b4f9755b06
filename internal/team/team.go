// Package team keeps Kefu's departments and staff accounts: who works
// here, in which departments, with which role, and whether the account is
// enabled. Only admins change them; every staff member may read them.
// Every change is audited in the transaction that makes it.
//
// Passwords are hashed by a function the composition root passes in
// (auth.Service.HashPassword), because auth imports team and not the other
// way round. Hashes never leave this package except through Credentials,
// which exists for auth's sign-in and is never serialised.
package team

import (
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kefu-desk/kefu"
)

// Department groups staff; tickets are routed to departments.
type Department struct {
	ID          string    `json:"id"`
	Slug        string    `json:"slug"`
	Name        string    `json:"name"`
	NameZh      string    `json:"name_zh"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
}

// NewDepartment is the input to CreateDepartment.
type NewDepartment struct {
	Slug        string `json:"slug"`
	Name        string `json:"name"`
	NameZh      string `json:"name_zh,omitempty"`
	Description string `json:"description,omitempty"`
}

// DepartmentPatch changes the fields that are not nil.
type DepartmentPatch struct {
	Slug        *string `json:"slug,omitempty"`
	Name        *string `json:"name,omitempty"`
	NameZh      *string `json:"name_zh,omitempty"`
	Description *string `json:"description,omitempty"`
}

// Staff is a staff account. The password hash is deliberately not a field.
type Staff struct {
	ID          string     `json:"id"`
	Email       string     `json:"email"`
	Name        string     `json:"name"`
	Role        kefu.Role  `json:"role"`
	Language    string     `json:"language"`
	Departments []string   `json:"departments"` // department ids, sorted
	Disabled    bool       `json:"disabled"`
	DisabledAt  *time.Time `json:"disabled_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// NewStaff is the input to CreateStaff. Departments holds department ids
// or slugs. An empty Language means "en". An empty Password creates an
// account that cannot sign in until a password is set.
type NewStaff struct {
	Email       string    `json:"email"`
	Name        string    `json:"name"`
	Role        kefu.Role `json:"role"`
	Language    string    `json:"language,omitempty"`
	Departments []string  `json:"departments,omitempty"`
	Password    string    `json:"password,omitempty"`
}

// StaffPatch changes the fields that are not nil. Departments (ids or
// slugs) replaces the whole set.
type StaffPatch struct {
	Name        *string    `json:"name,omitempty"`
	Role        *kefu.Role `json:"role,omitempty"`
	Language    *string    `json:"language,omitempty"`
	Departments *[]string  `json:"departments,omitempty"`
}

// StaffFilter selects staff for ListStaff; empty fields select everyone.
type StaffFilter struct {
	Department      string    // id or slug
	Role            kefu.Role //
	IncludeDisabled bool      // disabled accounts are left out unless set
}

// Credentials is what sign-in needs to know about an account. It is never
// serialised.
type Credentials struct {
	StaffID      string
	PasswordHash string // "" when no password was ever set
	Disabled     bool
}

// Languages lists the interface languages a staff member may choose.
var Languages = []string{"en", "zh-CN"}

// MinPasswordLength is the shortest password accepted, in characters.
const MinPasswordLength = 10

// maxPasswordLength bounds the work one request can ask the hasher for.
const maxPasswordLength = 1024

var slugRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// NormalizeEmail trims and lower-cases an address so lookups and the
// unique index agree.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// checkEmail reports what is wrong with email, or "".
func checkEmail(email string) string {
	if email == "" {
		return "required"
	}
	if len(email) > 254 {
		return "too long (254 characters at most)"
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Name != "" || !strings.EqualFold(addr.Address, email) || !strings.Contains(addr.Address, "@") {
		return "not a valid email address"
	}
	return ""
}

func checkName(fs *kefu.Fields, field, name string, required bool, limit int) {
	switch {
	case required && strings.TrimSpace(name) == "":
		fs.Add(field, "required")
	case utf8.RuneCountInString(name) > limit:
		fs.Add(field, "too long (%d characters at most)", limit)
	}
}

func checkRole(fs *kefu.Fields, role kefu.Role) {
	if !slices.Contains(kefu.Roles, role) {
		fs.Add("role", "must be one of %s", joinRoles())
	}
}

func joinRoles() string {
	s := make([]string, len(kefu.Roles))
	for i, r := range kefu.Roles {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

func checkLanguage(fs *kefu.Fields, lang string) {
	if !slices.Contains(Languages, lang) {
		fs.Add("language", "must be one of %s", strings.Join(Languages, ", "))
	}
}

// CheckPassword reports what is wrong with a new password, or "".
func CheckPassword(password string) string {
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinPasswordLength:
		return fmt.Sprintf("too short (%d characters at least)", MinPasswordLength)
	case len(password) > maxPasswordLength:
		return fmt.Sprintf("too long (%d bytes at most)", maxPasswordLength)
	}
	return ""
}

func (d *NewDepartment) validate() error {
	d.Slug = strings.TrimSpace(d.Slug)
	d.Name = strings.TrimSpace(d.Name)
	d.NameZh = strings.TrimSpace(d.NameZh)
	var fs kefu.Fields
	switch {
	case d.Slug == "":
		fs.Add("slug", "required")
	case len(d.Slug) > 64:
		fs.Add("slug", "too long (64 characters at most)")
	case !slugRE.MatchString(d.Slug):
		fs.Add("slug", "use lower-case letters, digits and single hyphens, like \"after-sales\"")
	}
	checkName(&fs, "name", d.Name, true, 100)
	checkName(&fs, "name_zh", d.NameZh, false, 100)
	checkName(&fs, "description", d.Description, false, 2000)
	return fs.Err()
}
