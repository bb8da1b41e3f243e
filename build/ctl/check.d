build/ctl/check.o: ctl/check.c ctl/../oci/annotations.h ctl/../oci/err.h \
 ctl/../oci/policy.h ctl/../oci/addr.h ctl/../oci/ports.h \
 ctl/../oci/cleanup.h ctl/../oci/input.h ctl/../oci/policy.h ctl/ctl.h \
 ctl/../oci/forwards.h ctl/../oci/state.h ctl/../oci/annotations.h
ctl/../oci/annotations.h:
ctl/../oci/err.h:
ctl/../oci/policy.h:
ctl/../oci/addr.h:
ctl/../oci/ports.h:
ctl/../oci/cleanup.h:
ctl/../oci/input.h:
ctl/../oci/policy.h:
ctl/ctl.h:
ctl/../oci/forwards.h:
ctl/../oci/state.h:
ctl/../oci/annotations.h:
