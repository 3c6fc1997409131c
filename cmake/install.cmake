# Installation (GNUInstallDirs), man pages generated from the programs' --help, systemd units and
# the Debian package (CPack DEB). See docs/install.md.
include(GNUInstallDirs)

install(TARGETS tcprec tcpreplay2 RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# intercept is a daemon run by root or with CAP_NET_RAW, not a user command: sbin.
install(TARGETS intercept RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})

# Man pages: help2man runs each built program's --help and --version, so the pages list exactly
# the options the program accepts; docs/man/PROGRAM.h2m adds the description, examples, exit
# status, files and see-also sections.
option(TCPR_MAN_PAGES "Generate man pages with help2man" ON)
if(TCPR_MAN_PAGES)
  find_program(HELP2MAN help2man)
  if(NOT HELP2MAN)
    message(FATAL_ERROR "help2man not found: install it (scripts/install-deps) or configure with "
                        "-DTCPR_MAN_PAGES=OFF")
  endif()
  set(tcpr_man_tcprec_section 1)
  set(tcpr_man_tcprec_name "record TCP traffic into zstd-compressed, session-indexed pcap archives")
  set(tcpr_man_tcpreplay2_section 1)
  set(tcpr_man_tcpreplay2_name
      "replay recorded or live TCP sessions into a test server, time-scaled and multiplied")
  set(tcpr_man_intercept_section 8)
  set(tcpr_man_intercept_name "capture a test server's answers and report them to tcpreplay2")
  set(tcpr_man_pages)
  foreach(prog tcprec tcpreplay2 intercept)
    set(sec ${tcpr_man_${prog}_section})
    set(page ${PROJECT_BINARY_DIR}/man/${prog}.${sec})
    set(include ${PROJECT_SOURCE_DIR}/docs/man/${prog}.h2m)
    # The program is run by its bare name from PATH, so the usage line reads "tcprec [OPTIONS]",
    # not the build directory's path. The page is dated with the month it is built (help2man's
    # default; SOURCE_DATE_EPOCH in the environment of the build would pin it).
    add_custom_command(OUTPUT ${page}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
      COMMAND ${CMAKE_COMMAND} -E env "PATH=$<TARGET_FILE_DIR:${prog}>:/usr/bin:/bin"
              ${HELP2MAN} --no-info --section=${sec} --name=${tcpr_man_${prog}_name}
              --include=${include} --output=${page} ${prog}
      DEPENDS ${prog} ${include}
      COMMENT "Generating man page ${prog}(${sec})"
      VERBATIM)
    list(APPEND tcpr_man_pages ${page})
    install(FILES ${page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${sec})
  endforeach()
  add_custom_target(man ALL DEPENDS ${tcpr_man_pages})
endif()

# systemd units. Their ExecStart= names where the programs are installed, which is known only
# at install time (cmake --install --prefix, or CPack's /usr), so the units are configured then.
set(TCPR_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
    "Where the systemd units are installed, relative to the install prefix")
set(tcpr_units intercept.service intercept@.service tcpreplay2-live@.service)
# They are configured into a directory named after the destination, so that installs to two
# places at once (a test's cmake --install and cpack) never share a file.
foreach(unit ${tcpr_units})
  install(CODE "
    set(TCPR_BINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
    set(TCPR_SBINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SBINDIR}\")
    string(MD5 tcpr_dest \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}\")
    set(tcpr_unit \"${PROJECT_BINARY_DIR}/systemd/\${tcpr_dest}/${unit}\")
    configure_file(\"${PROJECT_SOURCE_DIR}/deploy/systemd/${unit}.in\" \"\${tcpr_unit}\" @ONLY)
    file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${TCPR_SYSTEMD_UNITDIR}\"
         TYPE FILE FILES \"\${tcpr_unit}\")
  ")
endforeach()

# The documentation and the EnvironmentFile examples of the units.
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
file(GLOB tcpr_docs ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${tcpr_docs} DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/intercept.example
              ${PROJECT_SOURCE_DIR}/deploy/systemd/tcpreplay2-live.example
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# The Debian package: cpack -G DEB in the build directory (scripts/package).
set(CPACK_PACKAGE_NAME tcpr)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "tcpr")
set(TCPR_DEB_MAINTAINER "tcpr maintainers <tcpr@example.org>" CACHE STRING
    "The Debian package's Maintainer field")
set(CPACK_PACKAGE_CONTACT "${TCPR_DEB_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "record, replay and amplify real TCP traffic")
set(CPACK_PACKAGE_DESCRIPTION
    "tcprec records live TCP traffic (or imports pcap/pcapng) into zstd-compressed pcap archives \
with a session index. tcpreplay2 replays those sessions, or copies live traffic, into a test \
server as valid TCP, time-scaled and multiplied, and compares the answers with the recorded \
ones. intercept captures the test server's answers and reports them to the replayers.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
# Depends from the linked libraries (dpkg-shlibdeps: libpcap0.8, libzstd1, libre2-9, libc6,
# libstdc++6, libgcc-s1), with the versions their symbols need.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
include(CPack)
