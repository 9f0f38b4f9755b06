package api

import (
	"context"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/auth"
	"github.com/kefu-desk/kefu/internal/team"
)

func forbidden(msg string) error { return kefu.Errorf(kefu.Forbidden, "%s", msg) }

type loginIn struct {
	RemoteAddr string `header:"X-Kefu-Remote-Addr" hidden:"true"`
	Body       struct {
		Email    string `json:"email" maxLength:"320"`
		Password string `json:"password" maxLength:"1024"`
	}
}

type staffOut struct{ Body team.Staff }

// login checks the password and starts a session. The session token is
// renewed on sign-in so a token planted before sign-in is useless.
func (s *Server) login(ctx context.Context, in *loginIn) (*staffOut, error) {
	a, err := s.Auth.Login(ctx, in.Body.Email, in.Body.Password, in.RemoteAddr)
	if err != nil {
		return nil, err
	}
	if err := s.Sessions.RenewToken(ctx); err != nil {
		return nil, err
	}
	s.Sessions.Put(ctx, "staff_id", a.ID)
	st, err := s.Team.GetStaff(kefu.WithActor(ctx, a), a.ID)
	if err != nil {
		return nil, err
	}
	return &staffOut{Body: st}, nil
}

// RemoteAddr copies the client's address into a header only the API
// reads, so handlers can rate-limit by address. The header is always
// overwritten: a client cannot choose its own.
func RemoteAddr(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		r.Header.Set("X-Kefu-Remote-Addr", host)
		next.ServeHTTP(w, r)
	})
}

type emptyOut struct{ Status int }

func (s *Server) logout(ctx context.Context, _ *struct{}) (*emptyOut, error) {
	if err := s.Sessions.Destroy(ctx); err != nil {
		return nil, err
	}
	return &emptyOut{Status: 204}, nil
}

func (s *Server) me(ctx context.Context, _ *struct{}) (*staffOut, error) {
	a := kefu.ActorFrom(ctx)
	if a.Kind != kefu.ActorStaff {
		return nil, kefu.Errorf(kefu.NotFound, "not signed in as staff")
	}
	st, err := s.Team.GetStaff(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	return &staffOut{Body: st}, nil
}

type updateMeIn struct {
	Body struct {
		Name     *string `json:"name,omitempty"`
		Language *string `json:"language,omitempty" enum:"en,zh-CN"`
	}
}

// updateMe changes the caller's own name or language.
func (s *Server) updateMe(ctx context.Context, in *updateMeIn) (*staffOut, error) {
	a := kefu.ActorFrom(ctx)
	st, err := s.Team.UpdateStaff(ctx, a.ID, team.StaffPatch{Name: in.Body.Name, Language: in.Body.Language})
	if err != nil {
		return nil, err
	}
	return &staffOut{Body: st}, nil
}

type changePasswordIn struct {
	Body struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
}

func (s *Server) changePassword(ctx context.Context, in *changePasswordIn) (*emptyOut, error) {
	if err := s.Auth.ChangePassword(ctx, in.Body.CurrentPassword, in.Body.NewPassword); err != nil {
		return nil, err
	}
	return &emptyOut{Status: 204}, nil
}

type departmentsOut struct {
	Body struct {
		Departments []team.Department `json:"departments"`
	}
}

func (s *Server) listDepartments(ctx context.Context, _ *struct{}) (*departmentsOut, error) {
	ds, err := s.Team.ListDepartments(ctx)
	if err != nil {
		return nil, err
	}
	out := &departmentsOut{}
	out.Body.Departments = ds
	return out, nil
}

type departmentOut struct {
	Status int
	Body   team.Department
}

func (s *Server) createDepartment(ctx context.Context, in *struct{ Body team.NewDepartment }) (*departmentOut, error) {
	d, err := s.Team.CreateDepartment(ctx, in.Body)
	if err != nil {
		return nil, err
	}
	return &departmentOut{Status: 201, Body: d}, nil
}

type updateDepartmentIn struct {
	ID   string `path:"id"`
	Body team.DepartmentPatch
}

func (s *Server) updateDepartment(ctx context.Context, in *updateDepartmentIn) (*departmentOut, error) {
	d, err := s.Team.UpdateDepartment(ctx, in.ID, in.Body)
	if err != nil {
		return nil, err
	}
	return &departmentOut{Status: 200, Body: d}, nil
}

type listStaffIn struct {
	Department      string `query:"department" doc:"Department id or slug"`
	Role            string `query:"role" enum:"admin,supervisor,agent,staff,auditor,"`
	IncludeDisabled bool   `query:"include_disabled"`
}

type staffListOut struct {
	Body struct {
		Staff []team.Staff `json:"staff"`
	}
}

func (s *Server) listStaff(ctx context.Context, in *listStaffIn) (*staffListOut, error) {
	st, err := s.Team.ListStaff(ctx, team.StaffFilter{Department: in.Department, Role: kefu.Role(in.Role), IncludeDisabled: in.IncludeDisabled})
	if err != nil {
		return nil, inQuery(err)
	}
	out := &staffListOut{}
	out.Body.Staff = st
	return out, nil
}

type createdStaffOut struct {
	Status int
	Body   team.Staff
}

func (s *Server) createStaff(ctx context.Context, in *struct {
	IdempotencyKey string `header:"Idempotency-Key"`
	Body           team.NewStaff
}) (*createdStaffOut, error) {
	st, err := s.Team.CreateStaff(ctx, in.Body)
	if err != nil {
		return nil, err
	}
	return &createdStaffOut{Status: 201, Body: st}, nil
}

func (s *Server) getStaff(ctx context.Context, in *idPath) (*staffOut, error) {
	st, err := s.Team.GetStaff(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &staffOut{Body: st}, nil
}

type updateStaffIn struct {
	ID   string `path:"id"`
	Body team.StaffPatch
}

func (s *Server) updateStaff(ctx context.Context, in *updateStaffIn) (*staffOut, error) {
	st, err := s.Team.UpdateStaff(ctx, in.ID, in.Body)
	if err != nil {
		return nil, err
	}
	return &staffOut{Body: st}, nil
}

type disableStaffIn struct {
	ID   string `path:"id"`
	Body struct {
		Reason string `json:"reason,omitempty"`
	}
}

func (s *Server) disableStaff(ctx context.Context, in *disableStaffIn) (*staffOut, error) {
	st, err := s.Team.Disable(ctx, in.ID, in.Body.Reason)
	if err != nil {
		return nil, err
	}
	return &staffOut{Body: st}, nil
}

func (s *Server) enableStaff(ctx context.Context, in *idPath) (*staffOut, error) {
	st, err := s.Team.Enable(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &staffOut{Body: st}, nil
}

type setPasswordIn struct {
	ID   string `path:"id"`
	Body struct {
		Password string `json:"password"`
	}
}

func (s *Server) setPassword(ctx context.Context, in *setPasswordIn) (*emptyOut, error) {
	if err := s.Team.SetPassword(ctx, in.ID, in.Body.Password); err != nil {
		return nil, err
	}
	return &emptyOut{Status: 204}, nil
}

type tokensOut struct {
	Body struct {
		Tokens []auth.Token `json:"tokens"`
	}
}

func (s *Server) listTokens(ctx context.Context, in *struct {
	Staff string `query:"staff" doc:"Staff id; admins may list anyone's, or all with \"all\""`
}) (*tokensOut, error) {
	a := kefu.ActorFrom(ctx)
	owner := in.Staff
	if owner == "" {
		owner = a.ID
	}
	if owner == "all" {
		owner = ""
	}
	if owner != a.ID && !a.CanAdmin() {
		return nil, forbidden("only admins may list other people's tokens")
	}
	ts, err := s.Auth.ListTokens(ctx, owner)
	if err != nil {
		return nil, err
	}
	out := &tokensOut{}
	out.Body.Tokens = ts
	return out, nil
}

type createTokenIn struct {
	Body struct {
		Name      string     `json:"name" minLength:"1" maxLength:"100"`
		Scopes    []string   `json:"scopes" minItems:"1"`
		StaffID   string     `json:"staff_id,omitempty" doc:"Whose token; yours when empty"`
		ExpiresAt *time.Time `json:"expires_at,omitempty"`
	}
}

type createdTokenOut struct {
	Status int
	Body   struct {
		Token  string     `json:"token" doc:"The secret; shown only now"`
		Detail auth.Token `json:"detail"`
	}
}

func (s *Server) createToken(ctx context.Context, in *createTokenIn) (*createdTokenOut, error) {
	owner := in.Body.StaffID
	if owner == "" {
		owner = kefu.ActorFrom(ctx).ID
	}
	secret, t, err := s.Auth.CreateToken(ctx, owner, strings.TrimSpace(in.Body.Name), in.Body.Scopes, in.Body.ExpiresAt)
	if err != nil {
		return nil, err
	}
	out := &createdTokenOut{Status: 201}
	out.Body.Token, out.Body.Detail = secret, t
	return out, nil
}

func (s *Server) revokeToken(ctx context.Context, in *idPath) (*struct{ Body auth.Token }, error) {
	t, err := s.Auth.RevokeToken(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &struct{ Body auth.Token }{Body: t}, nil
}
