package guard

import (
	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/gateway/authz"
)

// on says what a method acts on.
type on int

const (
	onAnyone on = iota + 1 // any authenticated principal (the directory, whoami)
	onSystem               // the province as a whole
	onUnit                 // one unit, named in the request
	onTicket               // one ticket, named in the request
	onList                 // tickets, filtered in SQL by the compiled policy
)

// rule is the access rule of one method.
type rule struct {
	on     on
	action string
	// echo marks a method whose answer is the caller's own input (filing a
	// ticket): its personal data is masked as usual when the caller may not
	// see it, but returning it is not a read to audit.
	echo bool
}

func (r rule) ticket(req any) string {
	switch m := req.(type) {
	case interface{ GetId() string }:
		return m.GetId()
	case interface{ GetTicket() string }:
		return m.GetTicket()
	}
	return ""
}

func (r rule) unit(req any) string {
	if m, ok := req.(interface{ GetUnit() string }); ok {
		return m.GetUnit()
	}
	return ""
}

func ticketRule(action string) rule { return rule{on: onTicket, action: action} }
func systemRule(action string) rule { return rule{on: onSystem, action: action} }

// rules maps every method of the API to its access rule.
var rules = map[string]rule{
	// Tickets.
	pb.TicketService_CreateTicket_FullMethodName:     {on: onSystem, action: authz.Create, echo: true},
	pb.TicketService_AssistIntake_FullMethodName:     {on: onSystem, action: authz.Create, echo: true},
	pb.TicketService_GetTicket_FullMethodName:        ticketRule(authz.View),
	pb.TicketService_ListTickets_FullMethodName:      {on: onList, action: authz.View},
	pb.TicketService_GetTicketStats_FullMethodName:   {on: onList, action: authz.ReadStats},
	pb.TicketService_ListTicketEvents_FullMethodName: ticketRule(authz.View),
	pb.TicketService_DispatchTicket_FullMethodName:   ticketRule(authz.Dispatch),
	pb.TicketService_AnswerTicket_FullMethodName:     ticketRule(authz.Dispatch),
	pb.TicketService_ReclassifyTicket_FullMethodName: ticketRule(authz.Dispatch),
	pb.TicketService_SignTicket_FullMethodName:       ticketRule(authz.Sign),
	pb.TicketService_ReturnTicket_FullMethodName:     ticketRule(authz.Return),
	pb.TicketService_RequestExtension_FullMethodName: ticketRule(authz.Extend),
	pb.TicketService_DecideExtension_FullMethodName:  ticketRule(authz.Supervise),
	pb.TicketService_SuperviseTicket_FullMethodName:  ticketRule(authz.Supervise),
	pb.TicketService_ReplyTicket_FullMethodName:      ticketRule(authz.Reply),
	pb.TicketService_VisitTicket_FullMethodName:      ticketRule(authz.Close),
	pb.TicketService_ReopenTicket_FullMethodName:     ticketRule(authz.Close),
	pb.TicketService_CloseTicket_FullMethodName:      ticketRule(authz.Close),

	// The registry: its directory is for every principal; changing it, and
	// the backends' settings, are the administrators'.
	pb.RegistryService_ListHotlines_FullMethodName:       {on: onAnyone},
	pb.RegistryService_GetHotline_FullMethodName:         {on: onAnyone},
	pb.RegistryService_ListHotlineHistory_FullMethodName: {on: onAnyone},
	pb.RegistryService_ListUnits_FullMethodName:          {on: onAnyone},
	pb.RegistryService_GetMigrationReport_FullMethodName: systemRule(authz.ReadStats),
	pb.RegistryService_ListBackends_FullMethodName:       systemRule(authz.AdminRegistry),
	pb.RegistryService_SetHotlineStatus_FullMethodName:   systemRule(authz.AdminRegistry),
	pb.RegistryService_ImportRegistry_FullMethodName:     systemRule(authz.AdminRegistry),
	pb.RegistryService_ExportRegistry_FullMethodName:     systemRule(authz.AdminRegistry),

	// Dispatch: a unit's inbox is its own; the delivery machinery is the
	// administrators'.
	pb.DispatchService_ListInbox_FullMethodName:         {on: onUnit, action: authz.View},
	pb.DispatchService_ClaimInbox_FullMethodName:        {on: onUnit, action: authz.Sign},
	pb.DispatchService_AckInbox_FullMethodName:          {on: onUnit, action: authz.Sign},
	pb.DispatchService_GetDispatchStatus_FullMethodName: systemRule(authz.ReadStats),
	pb.DispatchService_ListDeadLetters_FullMethodName:   systemRule(authz.AdminRegistry),
	pb.DispatchService_Redrive_FullMethodName:           systemRule(authz.AdminRegistry),

	// Access administration.
	pb.AuthService_WhoAmI_FullMethodName:          {on: onAnyone},
	pb.AuthService_CreatePrincipal_FullMethodName: systemRule(authz.AdminPolicy),
	pb.AuthService_ListPrincipals_FullMethodName:  systemRule(authz.AdminPolicy),
	pb.AuthService_UpdatePrincipal_FullMethodName: systemRule(authz.AdminPolicy),
	pb.AuthService_GrantRole_FullMethodName:       systemRule(authz.AdminPolicy),
	pb.AuthService_RevokeRole_FullMethodName:      systemRule(authz.AdminPolicy),
	pb.AuthService_GetPolicy_FullMethodName:       systemRule(authz.AdminPolicy),
	pb.AuthService_ChangePolicy_FullMethodName:    systemRule(authz.AdminPolicy),
	pb.AuthService_ImportPolicy_FullMethodName:    systemRule(authz.AdminPolicy),
	pb.AuthService_ExportPolicy_FullMethodName:    systemRule(authz.AdminPolicy),
	pb.AuthService_WhoCanSee_FullMethodName:       systemRule(authz.AdminPolicy),
	pb.AuthService_ExplainAccess_FullMethodName:   systemRule(authz.AdminPolicy),
	pb.AuthService_CreateToken_FullMethodName:     systemRule(authz.AdminPolicy),
	pb.AuthService_ListTokens_FullMethodName:      systemRule(authz.AdminPolicy),
	pb.AuthService_RevokeToken_FullMethodName:     systemRule(authz.AdminPolicy),
	pb.AuthService_ListAudit_FullMethodName:       systemRule(authz.AdminPolicy),

	// Reference data: every principal reads the taxonomy and reads and
	// searches the knowledge base; administrators manage both.
	pb.TaxonomyService_ListTaxonomyVersions_FullMethodName: {on: onAnyone},
	pb.TaxonomyService_ListCategories_FullMethodName:       {on: onAnyone},
	pb.TaxonomyService_GetCategory_FullMethodName:          {on: onAnyone},
	pb.TaxonomyService_SearchCategories_FullMethodName:     {on: onAnyone},
	pb.TaxonomyService_ImportTaxonomy_FullMethodName:       systemRule(authz.AdminRegistry),
	pb.KnowledgeService_GetEntry_FullMethodName:            {on: onAnyone},
	pb.KnowledgeService_ListEntries_FullMethodName:         {on: onAnyone},
	pb.KnowledgeService_SearchEntries_FullMethodName:       {on: onAnyone},
	pb.KnowledgeService_CreateEntry_FullMethodName:         systemRule(authz.AdminRegistry),
	pb.KnowledgeService_UpdateEntry_FullMethodName:         systemRule(authz.AdminRegistry),
	pb.KnowledgeService_DeleteEntry_FullMethodName:         systemRule(authz.AdminRegistry),
	pb.KnowledgeService_ImportEntries_FullMethodName:       systemRule(authz.AdminRegistry),
}

// HasRule reports whether method has an access rule (for the wiring test).
func HasRule(method string) bool { _, ok := rules[method]; return ok || isOpenService(method) }
