package consul

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"

	"github.com/hashicorp/consul/api"

	"github.com/switchboard12345/switchboard/internal/errs"
)

// Endpoints returns "http://addr:port" for every instance of service whose
// health checks all pass, sorted.
func (s *Source) Endpoints(ctx context.Context, service string) ([]string, error) {
	entries, _, err := s.client.Health().Service(service, "", true, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, consulErr(ctx, "finding instances of "+service, err)
	}
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Service == nil {
			continue
		}
		addr := e.Service.Address
		if addr == "" && e.Node != nil {
			addr = e.Node.Address
		}
		if addr == "" || e.Service.Port == 0 {
			continue
		}
		out = append(out, "http://"+net.JoinHostPort(addr, strconv.Itoa(e.Service.Port)))
	}
	slices.Sort(out)
	return out, nil
}

// Register registers an instance of service name with the local agent, with
// an HTTP health check of healthURL every second; Consul deregisters it by
// itself after a minute of failing checks. The returned func deregisters it.
func (s *Source) Register(ctx context.Context, id, name, addr string, port int, healthURL string) (deregister func(context.Context) error, err error) {
	if id == "" || name == "" || port <= 0 || port > 65535 || healthURL == "" {
		return nil, errs.E(errs.Invalid, "registering service: id, name, port (1-65535) and health URL are required")
	}
	reg := &api.AgentServiceRegistration{
		ID:      id,
		Name:    name,
		Address: addr,
		Port:    port,
		Check: &api.AgentServiceCheck{
			CheckID:                        "service:" + id + ":http",
			Name:                           name + " health",
			HTTP:                           healthURL,
			Method:                         "GET",
			Interval:                       "1s",
			Timeout:                        "1s",
			DeregisterCriticalServiceAfter: "1m",
		},
	}
	if err := s.client.Agent().ServiceRegisterOpts(reg, api.ServiceRegisterOpts{}.WithContext(ctx)); err != nil {
		return nil, consulErr(ctx, fmt.Sprintf("registering service %s as %s", name, id), err)
	}
	s.log.Info("registered with consul", "service", name, "id", id, "health", healthURL)
	return func(ctx context.Context) error {
		if err := s.client.Agent().ServiceDeregisterOpts(id, (&api.QueryOptions{}).WithContext(ctx)); err != nil {
			return consulErr(ctx, "deregistering service "+id, err)
		}
		return nil
	}, nil
}
