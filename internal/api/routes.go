package api

import "net/http"

// routes lists every route of the API with the scope it needs. A session
// may do whatever its role allows; a token also needs the scope.
func (s *Server) routes() {
	const (
		get, post, patch, put, del = http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete
		public                     = ""
		ticketsR, ticketsW         = "tickets:read", "tickets:write"
		customersR, customersW     = "customers:read", "customers:write"
		admin, auditR              = "admin", "audit:read"
	)
	op(s, post, "/auth/login", "login", "Sign in with email and password; sets the session cookie", public, s.login)
	op(s, post, "/auth/logout", "logout", "Sign out and end the session", public, s.logout, 204)
	op(s, get, "/me", "get-me", "The signed-in staff member", ticketsR, s.me)
	op(s, patch, "/me", "update-me", "Change your own name or language", ticketsR, s.updateMe)
	op(s, post, "/me/password", "change-password", "Change your own password", ticketsR, s.changePassword, 204)

	op(s, get, "/tickets", "list-tickets", "List tickets, newest first, with filters and cursor paging", ticketsR, s.listTickets)
	op(s, post, "/tickets", "create-ticket", "Create a ticket with its first message", ticketsW, s.createTicket, 201)
	op(s, get, "/tickets/{id}", "get-ticket", "Get a ticket by id or key (KF-10234)", ticketsR, s.getTicket)
	op(s, patch, "/tickets/{id}", "update-ticket", "Change a ticket; send If-Match to refuse stale edits", ticketsW, s.updateTicket)
	op(s, get, "/tickets/{id}/messages", "list-messages", "A ticket's thread, oldest first", ticketsR, s.listMessages)
	op(s, post, "/tickets/{id}/messages", "add-message", "Reply, add a note or record a customer message", ticketsW, s.addMessage, 201)
	op(s, post, "/tickets/{id}/merge", "merge-ticket", "Merge another ticket into this one", ticketsW, s.mergeTicket)
	op(s, get, "/tickets/{id}/audit", "ticket-audit", "Every change to a ticket", ticketsR, s.ticketAudit)
	op(s, get, "/attachments/{id}", "get-attachment", "Download an attachment", ticketsR, s.getAttachment)

	op(s, get, "/customers", "list-customers", "Find customers by name, email, phone or WeChat prefix", customersR, s.listCustomers)
	op(s, post, "/customers", "create-customer", "Create a customer", customersW, s.createCustomer, 201)
	op(s, get, "/customers/{id}", "get-customer", "Get a customer", customersR, s.getCustomer)
	op(s, patch, "/customers/{id}", "update-customer", "Change a customer; blocking needs a reason", customersW, s.updateCustomer)
	op(s, post, "/customers/{id}/identities", "add-identity", "Add an email, phone or WeChat id", customersW, s.addIdentity)
	op(s, post, "/customers/{id}/merge", "merge-customer", "Merge another customer record into this one", customersW, s.mergeCustomer)
	op(s, get, "/customers/{id}/file", "service-file", "The customer's service file: everything ever exchanged, newest first", customersR, s.serviceFile)
	op(s, get, "/customers/{id}/audit", "customer-audit", "Every change to a customer", customersR, s.customerAudit)

	op(s, get, "/departments", "list-departments", "List departments", ticketsR, s.listDepartments)
	op(s, post, "/departments", "create-department", "Create a department", admin, s.createDepartment, 201)
	op(s, patch, "/departments/{id}", "update-department", "Change a department", admin, s.updateDepartment)
	op(s, get, "/staff", "list-staff", "List staff", ticketsR, s.listStaff)
	op(s, post, "/staff", "create-staff", "Create a staff account", admin, s.createStaff, 201)
	op(s, get, "/staff/{id}", "get-staff", "Get a staff account", ticketsR, s.getStaff)
	op(s, patch, "/staff/{id}", "update-staff", "Change a staff account's name, role, language or departments", admin, s.updateStaff)
	op(s, post, "/staff/{id}/disable", "disable-staff", "Disable a staff account", admin, s.disableStaff)
	op(s, post, "/staff/{id}/enable", "enable-staff", "Enable a staff account", admin, s.enableStaff)
	op(s, post, "/staff/{id}/password", "set-password", "Set a staff member's password", admin, s.setPassword, 204)

	op(s, get, "/categories", "list-categories", "The ticket categories", ticketsR, s.listCategories)
	op(s, put, "/categories/{key}", "save-category", "Create or change a category", admin, s.saveCategory)
	op(s, get, "/custom-fields", "list-custom-fields", "Custom field definitions", ticketsR, s.listCustomFields)
	op(s, put, "/custom-fields/{key}", "save-custom-field", "Create or change a custom field", admin, s.saveCustomField)

	op(s, get, "/tokens", "list-tokens", "API tokens (yours; all of them for admins)", ticketsR, s.listTokens)
	op(s, post, "/tokens", "create-token", "Create an API token; the secret is shown once", ticketsR, s.createToken, 201)
	op(s, del, "/tokens/{id}", "revoke-token", "Revoke an API token", ticketsR, s.revokeToken)

	op(s, get, "/audit", "list-audit", "The audit log, newest first", auditR, s.listAudit)
	s.slaRoutes()
	s.searchRoutes()
	s.emailRoutes()
	s.cannedRoutes()
	if s.Portal != nil {
		s.contactRoutes()
	}
	if s.Shop != nil {
		s.shopRoutes()
	}
	if s.Aftersales != nil {
		s.aftersalesRoutes()
	}
	if s.Workflows != nil {
		s.workflowRoutes()
	}
}
