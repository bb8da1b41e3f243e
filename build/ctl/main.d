build/ctl/main.o: ctl/main.c ctl/ctl.h ctl/../oci/forwards.h \
 ctl/../oci/addr.h ctl/../oci/err.h ctl/../oci/policy.h \
 ctl/../oci/state.h ctl/../oci/annotations.h ctl/../oci/ports.h
ctl/ctl.h:
ctl/../oci/forwards.h:
ctl/../oci/addr.h:
ctl/../oci/err.h:
ctl/../oci/policy.h:
ctl/../oci/state.h:
ctl/../oci/annotations.h:
ctl/../oci/ports.h:
