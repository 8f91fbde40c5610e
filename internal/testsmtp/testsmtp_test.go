package testsmtp

import (
	"bufio"
	"net"
	"net/smtp"
	"strings"
	"testing"
	"time"
)

func TestStartReceivesAndLists(t *testing.T) {
	t.Parallel()
	s := Start(t)
	msg := "From: a@example.com\r\nTo: b@example.com\r\nSubject: hello\r\nMessage-ID: <one@test>\r\n\r\nbody\r\n"
	if err := smtp.SendMail(s.SMTPAddr, nil, "a@example.com", []string{"b@example.com"}, []byte(msg)); err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	got := s.Messages(t)
	if len(got) != 1 {
		t.Fatalf("%d messages, want 1", len(got))
	}
	if got[0].MessageID != "one@test" || got[0].ID == "" || !strings.Contains(string(got[0].Raw), "Subject: hello") {
		t.Fatalf("got %+v (raw %q)", got[0], got[0].Raw)
	}
}

func TestAllowedRecipientsRefusesOthersWith550(t *testing.T) {
	t.Parallel()
	s := StartWith(t, Options{AllowedRecipients: `@ok\.example$`})
	err := smtp.SendMail(s.SMTPAddr, nil, "a@example.com", []string{"x@refused.example"}, []byte("Subject: x\r\n\r\nx\r\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "550") {
		t.Fatalf("err = %v, want a 550", err)
	}
	if err := smtp.SendMail(s.SMTPAddr, nil, "a@example.com", []string{"y@ok.example"}, []byte("Subject: y\r\n\r\ny\r\n")); err != nil {
		t.Fatalf("allowed recipient: %v", err)
	}
}

func TestStopClosesThePorts(t *testing.T) {
	t.Parallel()
	s := Start(t)
	s.Stop()
	if c, err := net.DialTimeout("tcp", s.SMTPAddr, time.Second); err == nil {
		c.Close()
		t.Fatalf("%s still accepts connections after Stop", s.SMTPAddr)
	}
	s.Stop()
}

func TestHangingAddrNeverGreets(t *testing.T) {
	t.Parallel()
	c, err := net.Dial("tcp", HangingAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if line, err := bufio.NewReader(c).ReadString('\n'); err == nil {
		t.Fatalf("the hanging server said %q", line)
	}
}

func TestClosedAddrRefuses(t *testing.T) {
	t.Parallel()
	if c, err := net.DialTimeout("tcp", ClosedAddr(t), time.Second); err == nil {
		c.Close()
		t.Fatal("connected to the closed address")
	}
}
