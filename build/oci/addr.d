build/oci/addr.o: oci/addr.c oci/addr.h
oci/addr.h:
