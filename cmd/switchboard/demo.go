package main

import (
	"bytes"
	"context"
	"fmt"

	"google.golang.org/grpc/metadata"
	"gopkg.in/yaml.v3"

	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/deploy/examples"
	"github.com/switchboard12345/switchboard/gateway/service"
)

// demoTicket is one entry of deploy/examples/demo-tickets.yaml.
type demoTicket struct {
	Channel string `yaml:"channel"`
	Caller  struct {
		Name  string `yaml:"name"`
		Phone string `yaml:"phone"`
	} `yaml:"caller"`
	Title       string `yaml:"title"`
	Content     string `yaml:"content"`
	Address     string `yaml:"address"`
	RegionCode  string `yaml:"regionCode"`
	Category    string `yaml:"category"`
	RequestType string `yaml:"requestType"`
	Urgency     string `yaml:"urgency"`
	Actions     []struct {
		Do   string   `yaml:"do"`
		Unit string   `yaml:"unit"`
		Co   []string `yaml:"co"`
		Text string   `yaml:"text"`
	} `yaml:"actions"`
}

// seedDemo files the demo tickets through the service, as an operator would.
// Each has a fixed idempotency key, so restarting the demo files nothing twice.
func seedDemo(ctx context.Context, svc pb.TicketServiceServer) (int, error) {
	var file struct {
		Tickets []demoTicket `yaml:"tickets"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(examples.Tickets))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		return 0, fmt.Errorf("decoding demo tickets: %w", err)
	}
	for i, d := range file.Tickets {
		md := metadata.Pairs(service.MDIdempotencyKey, fmt.Sprintf("demo-ticket-%d", i+1), service.MDActor, "demo:operator")
		octx := metadata.NewIncomingContext(ctx, md)
		t, err := svc.CreateTicket(octx, &pb.CreateTicketRequest{Ticket: &pb.NewTicket{
			Channel:      pb.Channel(pb.Channel_value[d.Channel]),
			Caller:       &pb.Caller{Name: d.Caller.Name, Phone: d.Caller.Phone},
			Title:        d.Title,
			Content:      d.Content,
			Location:     &pb.Location{Address: d.Address, RegionCode: d.RegionCode},
			Category:     d.Category,
			RequestType:  pb.RequestType(pb.RequestType_value[d.RequestType]),
			Urgency:      pb.Urgency(pb.Urgency_value[d.Urgency]),
			DialedNumber: "12345",
		}})
		if err != nil {
			return i, fmt.Errorf("demo ticket %d (%s): %w", i+1, d.Title, err)
		}
		if t.GetVersion() > 1 && !autoDispatchedOnly(octx, svc, t) {
			continue // filed by an earlier demo run and already acted on
		}
		state := t.GetState()
		for k, a := range d.Actions {
			if k == 0 && state == pb.State_DISPATCHED && (a.Do == "dispatch" || a.Do == "answer") {
				continue // dispatched at intake (dispatch.autoDispatch)
			}
			var next *pb.Ticket
			var err error
			switch a.Do {
			case "dispatch":
				next, err = svc.DispatchTicket(octx, &pb.DispatchTicketRequest{Id: t.GetId(), HandlingUnit: a.Unit, CoHandlingUnits: a.Co})
			case "return":
				next, err = svc.ReturnTicket(octx, &pb.ReturnTicketRequest{Id: t.GetId(), Reason: a.Text})
			case "sign":
				next, err = svc.SignTicket(octx, &pb.SignTicketRequest{Id: t.GetId()})
			case "reply":
				next, err = svc.ReplyTicket(octx, &pb.ReplyTicketRequest{Id: t.GetId(), Reply: a.Text})
			case "answer":
				next, err = svc.AnswerTicket(octx, &pb.AnswerTicketRequest{Id: t.GetId(), Answer: a.Text})
			default:
				err = fmt.Errorf("unknown demo action %q", a.Do)
			}
			if err != nil {
				return i, fmt.Errorf("demo ticket %d (%s), %s: %w", i+1, d.Title, a.Do, err)
			}
			state = next.GetState()
		}
	}
	return len(file.Tickets), nil
}

// autoDispatchedOnly reports whether t's only action since its creation is
// the dispatch intake made (dispatch.autoDispatch).
func autoDispatchedOnly(ctx context.Context, svc pb.TicketServiceServer, t *pb.Ticket) bool {
	evs, err := svc.ListTicketEvents(ctx, &pb.ListTicketEventsRequest{Id: t.GetId()})
	if err != nil {
		return false
	}
	e := evs.GetEvents()
	return len(e) == 2 && e[1].GetActor() == service.AutoDispatchActor
}
