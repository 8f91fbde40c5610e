package service

import (
	"maps"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/switchboard12345/switchboard/api/switchboard/v1"
	"github.com/switchboard12345/switchboard/gateway/intake"
	"github.com/switchboard12345/switchboard/gateway/ticket"
)

// enumName is the API name of an enum value, or "" when unset.
type enumValue interface{ String() string }

func enumName[E interface {
	enumValue
	~int32
}](e E) string {
	if e == 0 {
		return ""
	}
	return e.String()
}

func toIntake(n *pb.NewTicket) intake.Request {
	if n == nil {
		n = &pb.NewTicket{}
	}
	return intake.Request{
		Channel:        enumName(n.GetChannel()),
		DialedNumber:   n.GetDialedNumber(),
		CallerName:     n.GetCaller().GetName(),
		CallerPhone:    n.GetCaller().GetPhone(),
		CallerIDNumber: n.GetCaller().GetIdNumber(),
		Title:          n.GetTitle(),
		Content:        n.GetContent(),
		Address:        n.GetLocation().GetAddress(),
		RegionCode:     n.GetLocation().GetRegionCode(),
		Category:       n.GetCategory(),
		RequestType:    enumName(n.GetRequestType()),
		Urgency:        enumName(n.GetUrgency()),
	}
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func toProto(t *ticket.Ticket, now time.Time) *pb.Ticket {
	out := &pb.Ticket{
		Id:                     t.ID,
		TrackingNumber:         t.TrackingNumber,
		State:                  pb.State(pb.State_value[string(t.State)]),
		Channel:                pb.Channel(pb.Channel_value[string(t.Channel)]),
		DialedNumber:           t.DialedNumber,
		Caller:                 &pb.Caller{Name: t.Caller.Name, Phone: t.Caller.Phone, IdNumber: t.Caller.IDNumber},
		Title:                  t.Title,
		Content:                t.Content,
		Location:               &pb.Location{Address: t.Location.Address, RegionCode: t.Location.RegionCode},
		Category:               t.Category,
		RequestType:            pb.RequestType(pb.RequestType_value[string(t.RequestType)]),
		Urgency:                pb.Urgency(pb.Urgency_value[string(t.Urgency)]),
		HandlingUnit:           t.HandlingUnit,
		CoHandlingUnits:        t.CoHandlingUnits,
		SignBy:                 ts(t.SignBy),
		ReplyBy:                ts(t.ReplyBy),
		Overdue:                t.Overdue(now),
		Supervised:             t.Supervised,
		ExtensionDaysRequested: int32(t.ExtensionDaysRequested),
		ExtensionDaysGranted:   int32(t.ExtensionDaysGranted),
		ReopenCount:            int32(t.ReopenCount),
		Reply:                  t.Reply,
		Satisfaction:           pb.Satisfaction(pb.Satisfaction_value[string(t.Satisfaction)]),
		Resolved:               t.Resolved,
		CreateTime:             ts(t.CreateTime),
		UpdateTime:             ts(t.UpdateTime),
		DispatchTime:           ts(t.DispatchTime),
		SignTime:               ts(t.SignTime),
		ReplyTime:              ts(t.ReplyTime),
		CloseTime:              ts(t.CloseTime),
		Version:                t.Version,
		Hotline:                t.Hotline,
		SuggestedUnit:          t.SuggestedUnit,
		SuggestedBy:            string(t.SuggestedBy),
		Emergency:              t.Emergency,
	}
	if sg := t.Suggested; len(sg.Categories) > 0 || len(sg.Units) > 0 || sg.Region != nil {
		out.Suggestions = &pb.Suggestions{Categories: guesses(sg.Categories), Units: guesses(sg.Units), Model: sg.Model, Auto: sg.Auto}
		if r := sg.Region; r != nil {
			out.Suggestions.Region = &pb.Guess{Code: r.Code, Name: r.Name, Confidence: r.Confidence}
		}
	}
	for _, e := range t.Entities {
		out.Entities = append(out.Entities, &pb.Entity{Type: e.Type, Text: e.Text, Start: int32(e.Start), End: int32(e.End), Value: e.Value})
	}
	return out
}

func guesses(gs []ticket.Guess) []*pb.Guess {
	out := make([]*pb.Guess, len(gs))
	for i, g := range gs {
		out[i] = &pb.Guess{Code: g.Code, Name: g.Name, Confidence: g.Confidence}
	}
	return out
}

func eventToProto(e *ticket.Event) *pb.Event {
	return &pb.Event{
		TicketId:  e.TicketID,
		Seq:       e.Seq,
		Action:    e.Action,
		FromState: pb.State(pb.State_value[string(e.From)]),
		ToState:   pb.State(pb.State_value[string(e.To)]),
		Actor:     e.Actor,
		Reason:    e.Reason,
		Details:   maps.Clone(e.Details),
		Time:      ts(e.Time),
	}
}
