// akv-csi's own stand-in for monis.app/mlog, which the module proxy here refuses
// (403). Used only by build.sh through a replace line in a throwaway wrapper module.
module monis.app/mlog

go 1.21

require (
	github.com/go-logr/logr v1.4.3
	k8s.io/klog/v2 v2.120.1
)
