package api

import (
	"context"

	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/ticket"
)

type customerOut struct {
	ETag string `header:"ETag"`
	Body *customer.Customer
}

func customerResult(c *customer.Customer, err error) (*customerOut, error) {
	if err != nil {
		return nil, err
	}
	return &customerOut{ETag: etag(c.Version), Body: c}, nil
}

type listCustomersIn struct {
	Q       string `query:"q" doc:"Prefix of an email, phone or WeChat id, or an exact name"`
	Tag     string `query:"tag"`
	Blocked string `query:"blocked" enum:"true,false," doc:"Only blocked (true) or unblocked (false) customers"`
	Cursor  string `query:"cursor" doc:"Id of the last customer seen"`
	Limit   int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
}

type customersOut struct {
	Body struct {
		Customers  []*customer.Customer `json:"customers"`
		NextCursor string               `json:"next_cursor"`
	}
}

func (s *Server) listCustomers(ctx context.Context, in *listCustomersIn) (*customersOut, error) {
	f := customer.Filter{Query: in.Q, Tag: in.Tag, After: in.Cursor, Limit: in.Limit}
	if in.Blocked != "" {
		b := in.Blocked == "true"
		f.Blocked = &b
	}
	cs, err := s.Customers.List(ctx, f)
	if err != nil {
		return nil, inQuery(err)
	}
	out := &customersOut{}
	out.Body.Customers = cs
	if len(cs) == in.Limit {
		out.Body.NextCursor = cs[len(cs)-1].ID
	}
	return out, nil
}

type createCustomerIn struct {
	IdempotencyKey string `header:"Idempotency-Key"`
	Body           customer.NewCustomer
}

type createdCustomerOut struct {
	Status int
	ETag   string `header:"ETag"`
	Body   *customer.Customer
}

func (s *Server) createCustomer(ctx context.Context, in *createCustomerIn) (*createdCustomerOut, error) {
	c, err := s.Customers.Create(ctx, in.Body)
	if err != nil {
		return nil, err
	}
	return &createdCustomerOut{Status: 201, ETag: etag(c.Version), Body: c}, nil
}

func (s *Server) getCustomer(ctx context.Context, in *idPath) (*customerOut, error) {
	return customerResult(s.Customers.Get(ctx, in.ID))
}

type updateCustomerIn struct {
	ID      string `path:"id"`
	IfMatch string `header:"If-Match"`
	Body    customer.Patch
}

func (s *Server) updateCustomer(ctx context.Context, in *updateCustomerIn) (*customerOut, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	return customerResult(s.Customers.Update(ctx, in.ID, v, in.Body))
}

type addIdentityIn struct {
	ID   string `path:"id"`
	Body customer.NewIdent
}

func (s *Server) addIdentity(ctx context.Context, in *addIdentityIn) (*customerOut, error) {
	return customerResult(s.Customers.AddIdentity(ctx, in.ID, in.Body))
}

func (s *Server) mergeCustomer(ctx context.Context, in *mergeIn) (*customerOut, error) {
	return customerResult(s.Customers.Merge(ctx, in.ID, in.Body.SourceID))
}

type fileIn struct {
	ID     string `path:"id"`
	Cursor string `query:"cursor"`
	Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
}

type fileOut struct{ Body *ticket.ServiceFile }

func (s *Server) serviceFile(ctx context.Context, in *fileIn) (*fileOut, error) {
	f, err := s.Tickets.File(ctx, in.ID, in.Cursor, in.Limit)
	if err != nil {
		return nil, inQuery(err)
	}
	return &fileOut{Body: f}, nil
}

func (s *Server) customerAudit(ctx context.Context, in *auditIn) (*auditOut, error) {
	c, err := s.Customers.Get(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	entries, err := audit.List(ctx, s.DB.Read, audit.Filter{CustomerID: c.ID, Before: in.Cursor, Limit: in.Limit})
	return auditPage(entries, in.Limit, err)
}

type listAuditIn struct {
	Entity   string `query:"entity" doc:"ticket, customer, staff, department, token, category, custom_field"`
	EntityID string `query:"entity_id"`
	Cursor   string `query:"cursor"`
	Limit    int    `query:"limit" minimum:"1" maximum:"500" default:"100"`
}

func (s *Server) listAudit(ctx context.Context, in *listAuditIn) (*auditOut, error) {
	if !audit.ActorOf(ctx).CanReadAudit() {
		return nil, forbidden("only admins and auditors may read the audit log")
	}
	entries, err := audit.List(ctx, s.DB.Read, audit.Filter{Entity: in.Entity, EntityID: in.EntityID, Before: in.Cursor, Limit: in.Limit})
	return auditPage(entries, in.Limit, err)
}
