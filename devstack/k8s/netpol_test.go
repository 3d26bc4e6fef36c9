package k8s

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// architectureEdges are the connections the platform makes, written once: README.md's architecture
// diagram, completed with what the code calls and the diagram leaves out (the services fetching
// auth's JWKS, realtime and the gateway asking auth for sessions, order asking user for addresses,
// the gateway reading Kafka for cache purges, auth and user sending mail). The diagram's Redis edges
// of inventory and order are left out: neither reads a Redis variable. "public" is
// the ingress controller; mongo, kafka, redis and mail are pods in dev and addresses outside in prod.
var architectureEdges = []string{
	"public -> storefront", "public -> gateway",
	"storefront -> gateway",
	"gateway -> auth", "gateway -> user", "gateway -> product", "gateway -> inventory", "gateway -> order", "gateway -> realtime",
	"user -> auth", "product -> auth", "inventory -> auth", "order -> auth", "realtime -> auth",
	"order -> product", "order -> user",
	"auth -> mongo", "user -> mongo", "product -> mongo", "inventory -> mongo", "order -> mongo",
	"auth -> kafka", "user -> kafka", "product -> kafka", "inventory -> kafka", "order -> kafka", "gateway -> kafka", "realtime -> kafka",
	"auth -> redis", "gateway -> redis", "realtime -> redis", "storefront -> redis",
	"auth -> mail", "user -> mail",
}

// inClusterEdges are the backends' own: replica set members and KRaft controllers reach each other.
var inClusterEdges = []string{"mongo -> mongo", "kafka -> kafka"}

// traceEdges are every program's spans to the trace viewer, Jaeger, which only dev runs (prod's
// receiver, when the operator sets one, is outside: docs/operations.md).
var traceEdges = []string{"auth -> jaeger", "user -> jaeger", "product -> jaeger", "inventory -> jaeger",
	"order -> jaeger", "gateway -> jaeger", "realtime -> jaeger", "storefront -> jaeger"}

// nodeOf names the node of the architecture a pod is: its app.kubernetes.io/name, Mailpit as "mail".
func nodeOf(podLabels map[string]string) string {
	n := podLabels["app.kubernetes.io/name"]
	if n == "mailpit" {
		return "mail"
	}
	return n
}

// externalPorts name the backend an egress rule to an address outside the cluster reaches.
var externalPorts = map[int32]string{27017: "mongo", 9092: "kafka", 6379: "redis", 587: "mail", 465: "mail"}

// ingressNamespace is where the ingress controller runs; a peer selecting it is "public".
const ingressNamespace = "ingress-nginx"

// allowedEdges evaluates the overlay's NetworkPolicies as a cluster enforces them: a connection from
// pod a to port p of pod b is allowed when some policy selecting a allows it as egress (or none
// isolates a for egress) and some policy selecting b allows it as ingress (or none isolates b). DNS
// egress to kube-dns is an edge to "dns"; egress to addresses is an edge to the backend of its port.
func allowedEdges(m *manifests) map[string]bool {
	out := map[string]bool{}
	pods := m.workloads()
	for _, a := range pods {
		for _, b := range pods {
			for i := range b.spec.Containers {
				for _, port := range b.spec.Containers[i].Ports {
					if allows(m, a.labels, b.labels, port, networkingv1.PolicyTypeEgress) &&
						allows(m, a.labels, b.labels, port, networkingv1.PolicyTypeIngress) {
						out[nodeOf(a.labels)+" -> "+nodeOf(b.labels)] = true
					}
				}
			}
		}
		for _, e := range outsideEgress(m, a.labels) {
			out[nodeOf(a.labels)+" -> "+e] = true
		}
	}
	for _, b := range pods {
		for i := range b.spec.Containers {
			for _, port := range b.spec.Containers[i].Ports {
				if allows(m, nil, b.labels, port, networkingv1.PolicyTypeIngress) {
					out["public -> "+nodeOf(b.labels)] = true
				}
			}
		}
	}
	return out
}

// allows reports whether the policies let from (nil: the ingress controller, outside the namespace)
// reach port of the pod labelled to, seen from one side: egress at from or ingress at to.
func allows(m *manifests, from, to map[string]string, port corev1.ContainerPort, side networkingv1.PolicyType) bool {
	self, peer := to, from
	if side == networkingv1.PolicyTypeEgress {
		if from == nil {
			return true // outside the namespace: not ours to police
		}
		self, peer = from, to
	}
	isolated := false
	for _, np := range m.policies {
		if !selects(np.Spec.PodSelector, self) || !slices.Contains(np.Spec.PolicyTypes, side) {
			continue
		}
		isolated = true
		if side == networkingv1.PolicyTypeEgress {
			for _, r := range np.Spec.Egress {
				if peersMatch(r.To, peer) && portsMatch(r.Ports, port) {
					return true
				}
			}
		} else {
			for _, r := range np.Spec.Ingress {
				if peersMatch(r.From, peer) && portsMatch(r.Ports, port) {
					return true
				}
			}
		}
	}
	return !isolated
}

// peersMatch reports whether a rule's peers include the pod labelled l in this namespace (nil l:
// "public", the ingress controller's namespace or an address block). Egress to address blocks is
// outsideEgress's.
func peersMatch(peers []networkingv1.NetworkPolicyPeer, l map[string]string) bool {
	if len(peers) == 0 {
		return true
	}
	for _, p := range peers {
		switch {
		case p.IPBlock != nil:
			if l == nil {
				return true // addresses reach from outside the cluster like the ingress controller
			}
		case p.NamespaceSelector != nil:
			if l == nil && p.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] == ingressNamespace {
				return true
			}
		case l != nil && p.PodSelector != nil && selects(*p.PodSelector, l):
			return true
		}
	}
	return false
}

func portsMatch(ports []networkingv1.NetworkPolicyPort, cp corev1.ContainerPort) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		cproto := cp.Protocol
		if cproto == "" {
			cproto = corev1.ProtocolTCP
		}
		if proto != cproto || p.Port == nil {
			continue
		}
		switch {
		case p.Port.Type == intstr.String && p.Port.StrVal == cp.Name:
			return true
		case p.Port.Type == intstr.Int && p.EndPort != nil && cp.ContainerPort >= p.Port.IntVal && cp.ContainerPort <= *p.EndPort:
			return true
		case p.Port.Type == intstr.Int && p.Port.IntVal == cp.ContainerPort:
			return true
		}
	}
	return false
}

// outsideEgress lists what the pod labelled l may reach outside the namespace: "dns" for kube-dns on
// port 53, the backend of each port of an address rule, "outside:<port>" for any other port, and
// "anywhere" for a rule without ports or peers. A pod no egress policy selects reaches "anywhere".
func outsideEgress(m *manifests, l map[string]string) []string {
	var out []string
	isolated := false
	for _, np := range m.policies {
		if !selects(np.Spec.PodSelector, l) || !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
			continue
		}
		isolated = true
		for _, r := range np.Spec.Egress {
			for _, peer := range r.To {
				switch {
				case peer.NamespaceSelector != nil && peer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] == "kube-system" &&
					peer.PodSelector != nil && peer.PodSelector.MatchLabels["k8s-app"] == "kube-dns":
					for _, p := range r.Ports {
						if p.Port == nil || p.Port.IntVal != 53 {
							out = append(out, "outside:"+portString(p))
						}
					}
					out = append(out, "dns")
				case peer.IPBlock != nil:
					if len(r.Ports) == 0 {
						out = append(out, "anywhere")
					}
					for _, p := range r.Ports {
						out = append(out, backendsOf(p)...)
					}
				case peer.NamespaceSelector != nil:
					out = append(out, "namespace:"+labels.Set(peer.NamespaceSelector.MatchLabels).String())
				}
			}
			if len(r.To) == 0 {
				out = append(out, "anywhere")
			}
		}
	}
	if !isolated {
		out = append(out, "anywhere")
	}
	return out
}

// backendsOf names what an address rule's port (or port range) reaches.
func backendsOf(p networkingv1.NetworkPolicyPort) []string {
	if p.Port == nil || p.Port.Type != intstr.Int {
		return []string{"outside:" + portString(p)}
	}
	end := p.Port.IntVal
	if p.EndPort != nil {
		end = *p.EndPort
	}
	var out []string
	for port := p.Port.IntVal; port <= end; port++ {
		if b, ok := externalPorts[port]; ok {
			out = append(out, b)
		} else if p.EndPort == nil {
			out = append(out, "outside:"+strconv.Itoa(int(port)))
		}
	}
	if len(out) == 0 {
		out = append(out, "outside:"+portString(p))
	}
	return out
}

func portString(p networkingv1.NetworkPolicyPort) string {
	if p.Port == nil {
		return "any"
	}
	s := p.Port.String()
	if p.EndPort != nil {
		s += "-" + strconv.Itoa(int(*p.EndPort))
	}
	return s
}

func selects(sel metav1.LabelSelector, l map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(&sel)
	return err == nil && s.Matches(labels.Set(l))
}

// expectedEdges is the architecture's edge list for an overlay, plus every pod's DNS lookups.
func expectedEdges(m *manifests) map[string]bool {
	want := map[string]bool{}
	for _, e := range architectureEdges {
		want[e] = true
	}
	if m.overlay == "dev" {
		for _, e := range append(inClusterEdges, traceEdges...) {
			want[e] = true
		}
	}
	for _, w := range m.workloads() {
		want[nodeOf(w.labels)+" -> dns"] = true
	}
	return want
}

// TestNetworkPoliciesAreTheArchitecture: the edges the policies allow are exactly the architecture's,
// compared both ways, in every overlay.
func TestNetworkPoliciesAreTheArchitecture(t *testing.T) {
	for _, o := range overlays {
		t.Run(o, func(t *testing.T) {
			m := render(t, o)
			// A pod added later without its own policy must start with nothing allowed.
			if !slices.ContainsFunc(m.policies, isDefaultDeny) {
				t.Errorf("overlay %s: no NetworkPolicy denies all ingress and egress of every pod", o)
			}
			got, want := allowedEdges(m), expectedEdges(m)
			for _, e := range slices.Sorted(maps.Keys(want)) {
				if !got[e] {
					t.Errorf("overlay %s: the architecture has %s, which the NetworkPolicies do not allow", o, e)
				}
			}
			for _, e := range slices.Sorted(maps.Keys(got)) {
				if !want[e] {
					t.Errorf("overlay %s: the NetworkPolicies allow %s, which is not an edge of the architecture", o, e)
				}
			}
		})
	}
}

// address finds the host:port pairs in a configured value: URLs, broker lists, host:port.
var address = regexp.MustCompile(`(?:^|[/@,])([a-z][a-z0-9-]*(?:\.[a-z0-9-]+)*):(\d+)`)

// TestConfiguredAddressesAreEdges: every address a program reads inside the cluster (a Service name,
// or a StatefulSet pod's name under its headless Service) is a Service port of the overlay and an
// edge of the architecture, so the edge list cannot miss a call the wiring makes.
func TestConfiguredAddressesAreEdges(t *testing.T) {
	tables := configTables(t)
	want := map[string]bool{}
	for _, e := range slices.Concat(architectureEdges, inClusterEdges, traceEdges) {
		want[e] = true
	}
	for _, o := range overlays {
		m := render(t, o)
		for _, d := range m.deployments {
			for i := range d.Spec.Template.Spec.Containers {
				env, _ := containerEnv(m, &d.Spec.Template.Spec.Containers[i])
				for name, src := range env {
					if _, read := tables[d.Name][name]; !read && !wiredAhead[name] {
						continue
					}
					value := src.value
					if strings.HasPrefix(src.from, "secret ") {
						value = secretValue(m, &d.Spec.Template.Spec.Containers[i], name)
					}
					for _, a := range address.FindAllStringSubmatch(value, -1) {
						svc := m.service(a[1])
						if svc == nil {
							if _, after, ok := strings.Cut(a[1], "."); ok {
								svc = m.service(after)
							}
						}
						if svc == nil {
							continue // outside the cluster
						}
						port, _ := strconv.Atoi(a[2])
						if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == int32(port) }) {
							t.Errorf("overlay %s: %s %s=%q: Service %s has no port %d", o, d.Name, name, value, svc.Name, port)
						}
						edge := fmt.Sprintf("%s -> %s", nodeOf(d.Spec.Template.Labels), nodeOf(svc.Spec.Selector))
						if !want[edge] {
							t.Errorf("overlay %s: %s %s=%q makes the call %s, which is not an edge of the architecture", o, d.Name, name, value, edge)
						}
					}
				}
			}
		}
	}
}

// secretValue is the value of a variable from a Secret the overlay makes, "" otherwise.
func secretValue(m *manifests, c *corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			if s := m.secret(e.ValueFrom.SecretKeyRef.Name); s != nil {
				return string(s.Data[e.ValueFrom.SecretKeyRef.Key])
			}
		}
	}
	return ""
}

// isDefaultDeny reports whether np selects every pod and allows nothing either way.
func isDefaultDeny(np networkingv1.NetworkPolicy) bool {
	sel := np.Spec.PodSelector
	return len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0 && len(np.Spec.Ingress) == 0 && len(np.Spec.Egress) == 0 &&
		slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) && slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
}
