package k8s

import (
	"slices"
	"strconv"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/goshop/platform/devstack/stack"
)

// notAutoscaled are the programs without a HorizontalPodAutoscaler, and why.
var notAutoscaled = map[string]string{
	"realtime": "its WebSockets are long-lived: a copy added for CPU takes only new connections, and every copy reads every event",
}

// podProblems returns what breaks the restricted Pod Security Standard and our own rules in one pod
// template: non-root with a numeric user, the runtime's seccomp profile, no service-account token, no
// host namespaces or paths, and per container no privilege escalation, a read-only root filesystem,
// every capability dropped, CPU and memory requested and memory limited.
func podProblems(spec *corev1.PodSpec) []string {
	var out []string
	psc := spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		out = append(out, "pod runAsNonRoot is not true")
	}
	if psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		out = append(out, "pod runAsUser is not a non-zero number")
	}
	if psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		out = append(out, "pod seccompProfile is not RuntimeDefault")
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		out = append(out, "automountServiceAccountToken is not false")
	}
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		out = append(out, "uses a host namespace")
	}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			out = append(out, "volume "+v.Name+" is a hostPath")
		}
	}
	for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
		sc := c.SecurityContext
		if sc == nil {
			out = append(out, c.Name+": no securityContext")
			continue
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			out = append(out, c.Name+": allowPrivilegeEscalation is not false")
		}
		if sc.Privileged != nil && *sc.Privileged {
			out = append(out, c.Name+": privileged")
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			out = append(out, c.Name+": readOnlyRootFilesystem is not true")
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
			out = append(out, c.Name+": capabilities are not drop [ALL] with nothing added")
		}
		if sc.RunAsUser != nil && *sc.RunAsUser == 0 || sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot {
			out = append(out, c.Name+": runs as root")
		}
		r := c.Resources
		if r.Requests.Cpu().IsZero() || r.Requests.Memory().IsZero() || r.Limits.Memory().IsZero() {
			out = append(out, c.Name+": no CPU and memory request or no memory limit")
		}
	}
	return out
}

// TestPodSecurity: every pod of every overlay, backends included, holds podProblems' rules, and the
// namespace enforces the restricted standard so a cluster refuses a pod that would not.
func TestPodSecurity(t *testing.T) {
	for _, o := range overlays {
		m := render(t, o)
		for _, w := range m.workloads() {
			for _, p := range podProblems(w.spec) {
				t.Errorf("overlay %s: %s %s: %s", o, w.kind, w.name, p)
			}
			writable := map[string]bool{}
			for _, v := range w.spec.Volumes {
				writable[v.Name] = v.EmptyDir != nil
			}
			for _, c := range w.spec.Containers {
				tmp := slices.ContainsFunc(c.VolumeMounts, func(vm corev1.VolumeMount) bool { return vm.MountPath == "/tmp" && writable[vm.Name] })
				if _, program := m.programPort(w.name); program && w.kind == "Deployment" && !tmp {
					t.Errorf("overlay %s: %s: no emptyDir at /tmp, the one place a program may write", o, w.name)
				}
			}
		}
		if len(m.namespaces) != 1 || m.namespaces[0].Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
			t.Errorf("overlay %s: want one Namespace labelled pod-security.kubernetes.io/enforce=restricted", o)
		}
	}
}

// programPort returns the architecture's port of a program by name.
func (m *manifests) programPort(name string) (int, bool) {
	for _, p := range stack.Programs {
		if p.Name == name {
			return p.Port, true
		}
	}
	return 0, false
}

// TestAvailability: dev runs one copy of each program without autoscaling; prod at least two: an
// autoscaler on CPU with a minimum of two for each stateless program, two replicas for the others;
// in both a PodDisruptionBudget lets at most one
// copy go at a time and the copies spread over nodes. Prod exposes storefront and gateway through
// TLS Ingresses.
func TestAvailability(t *testing.T) {
	for _, o := range overlays {
		m := render(t, o)
		for _, p := range stack.Programs {
			d := m.deployment(p.Name)
			if d == nil {
				t.Fatalf("overlay %s: no Deployment %s", o, p.Name)
			}
			replicas := d.Spec.Replicas
			pods := labels.Set(d.Spec.Template.Labels)
			hpa := m.hpa(p.Name)
			switch {
			case o == "dev" && (replicas == nil || *replicas != 1 || hpa != nil):
				t.Errorf("dev: %s has %s replicas (autoscaler: %v), want 1 and none", p.Name, deref(replicas), hpa != nil)
			case o == "prod" && hpa == nil && notAutoscaled[p.Name] == "":
				t.Errorf("prod: %s has no HorizontalPodAutoscaler", p.Name)
			case o == "prod" && hpa == nil && (replicas == nil || *replicas < 2):
				t.Errorf("prod: %s has %s replicas, want at least 2", p.Name, deref(replicas))
			case o == "prod" && hpa != nil:
				if notAutoscaled[p.Name] != "" {
					t.Errorf("prod: %s is autoscaled, but %s", p.Name, notAutoscaled[p.Name])
				}
				// An apply would otherwise set the count back under the autoscaler's feet.
				if replicas != nil {
					t.Errorf("prod: %s sets replicas %d and has an autoscaler, which owns the count", p.Name, *replicas)
				}
				if min := hpa.Spec.MinReplicas; min == nil || *min < 2 || hpa.Spec.MaxReplicas < *min {
					t.Errorf("prod: %s autoscaler min %v max %d, want 2 <= min <= max", p.Name, deref(min), hpa.Spec.MaxReplicas)
				}
				if len(hpa.Spec.Metrics) != 1 || hpa.Spec.Metrics[0].Resource == nil || hpa.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU {
					t.Errorf("prod: %s autoscaler does not scale on CPU alone", p.Name)
				}
			}
			budgets := 0
			for _, pdb := range m.pdbs {
				if selects(*pdb.Spec.Selector, pods) {
					budgets++
					if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
						t.Errorf("overlay %s: PodDisruptionBudget %s is not maxUnavailable 1", o, pdb.Name)
					}
				}
			}
			if budgets != 1 {
				t.Errorf("overlay %s: %s pods are under %d PodDisruptionBudgets, want 1", o, p.Name, budgets)
			}
			spread := map[string]bool{}
			for _, c := range d.Spec.Template.Spec.TopologySpreadConstraints {
				if c.LabelSelector != nil && selects(*c.LabelSelector, pods) && slices.Contains(c.MatchLabelKeys, "app.kubernetes.io/name") {
					spread[c.TopologyKey] = true
				}
			}
			if !spread["kubernetes.io/hostname"] || !spread["topology.kubernetes.io/zone"] {
				t.Errorf("overlay %s: %s pods do not spread over hostnames and zones by program: %v", o, p.Name, spread)
			}
		}
		if o == "prod" {
			for _, name := range []string{"storefront", "gateway"} {
				if !m.tlsIngressTo(name) {
					t.Errorf("prod: no Ingress with TLS routes to the Service %s", name)
				}
			}
		}
	}
}

func (m *manifests) hpa(deployment string) *autoscalingv2.HorizontalPodAutoscaler {
	for i := range m.hpas {
		h := &m.hpas[i]
		if h.Spec.ScaleTargetRef.Kind == "Deployment" && h.Spec.ScaleTargetRef.Name == deployment {
			return h
		}
	}
	return nil
}

// tlsIngressTo reports whether an Ingress with TLS for the rule's host sends traffic to the Service.
func (m *manifests) tlsIngressTo(service string) bool {
	for _, ing := range m.ingresses {
		for _, rule := range ing.Spec.Rules {
			if rule.HTTP == nil || !slices.ContainsFunc(ing.Spec.TLS, func(t networkingv1.IngressTLS) bool { return slices.Contains(t.Hosts, rule.Host) }) {
				continue
			}
			for _, path := range rule.HTTP.Paths {
				if path.Backend.Service != nil && path.Backend.Service.Name == service && m.service(service) != nil {
					return true
				}
			}
		}
	}
	return false
}

// deref shows an optional count: "unset" or its value.
func deref(p *int32) string {
	if p == nil {
		return "unset"
	}
	return strconv.Itoa(int(*p))
}
