package kefu

import (
	"context"
	"slices"
)

// Role is a staff member's role. What each may do is decided by the
// methods below, in one place, and checked on every route.
type Role string

const (
	RoleAdmin      Role = "admin"      // everything, including configuration
	RoleSupervisor Role = "supervisor" // all tickets, team management, overrides
	RoleAgent      Role = "agent"      // tickets of their departments
	RoleStaff      Role = "staff"      // department staff acting on work routed to them
	RoleAuditor    Role = "auditor"    // read-only, everything, including the audit log
)

// Roles lists the roles in order of reach.
var Roles = []Role{RoleAdmin, RoleSupervisor, RoleAgent, RoleStaff, RoleAuditor}

// Supervises reports whether the role oversees the agents' work:
// overrides, waivers, escalations and complaints are for supervisors and
// admins.
func (r Role) Supervises() bool { return r == RoleSupervisor || r == RoleAdmin }

// ActorKind says who is acting.
type ActorKind string

const (
	ActorStaff    ActorKind = "staff"
	ActorCustomer ActorKind = "customer"
	ActorSystem   ActorKind = "system"
)

// Actor is who performs a request. It travels in the context so every
// service can check permissions and the audit trail can name the actor.
type Actor struct {
	Kind        ActorKind
	ID          string
	Name        string
	Role        Role
	Departments []string // department ids the staff member belongs to
	// Scopes limit what an API token may do; nil for a signed-in session,
	// which may do whatever its role allows.
	Scopes []string
	// TokenID is set when the request authenticated with an API token.
	TokenID string
}

// System is the actor for work Kefu does on its own (sweeps, imports).
var System = Actor{Kind: ActorSystem, ID: "system", Name: "Kefu", Role: RoleAdmin}

type actorKey struct{}

// WithActor returns ctx carrying a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx, or a zero Actor with Kind "" when the
// request is anonymous.
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}

// SeesAllTickets reports whether the actor's role reaches every department.
func (a Actor) SeesAllTickets() bool {
	return a.Kind == ActorSystem || a.Role == RoleAdmin || a.Role == RoleSupervisor || a.Role == RoleAuditor
}

// CanWrite reports whether the actor may change tickets and customers.
func (a Actor) CanWrite() bool {
	return a.Kind == ActorSystem || (a.Kind == ActorStaff && a.Role != RoleAuditor && a.Role != "")
}

// CanAdmin reports whether the actor may change configuration and accounts.
func (a Actor) CanAdmin() bool {
	return a.Kind == ActorSystem || a.Role == RoleAdmin
}

// CanReadAudit reports whether the actor may read the global audit log.
func (a Actor) CanReadAudit() bool {
	return a.Kind == ActorSystem || a.Role == RoleAdmin || a.Role == RoleAuditor
}

// InDepartment reports whether the actor belongs to department id.
func (a Actor) InDepartment(id string) bool { return slices.Contains(a.Departments, id) }

// HasScope reports whether a token-authenticated actor holds scope; a
// session actor holds every scope its role allows.
func (a Actor) HasScope(scope string) bool {
	return a.Scopes == nil || slices.Contains(a.Scopes, scope)
}
