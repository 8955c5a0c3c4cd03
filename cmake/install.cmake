# Install rules, the pkg-config file, the CMake package (find_package(drip) -> drip::safe,
# drip::safe_static, drip::api) and the Debian package (`make deb`, CPack). Included from the
# top-level CMakeLists.txt after the targets exist.
#
# Layout under PREFIX (any PREFIX: nothing below is compiled in as an absolute path):
#   bin/drip                        the CLI
#   lib/drip/libdrip.so             the preload library, private to drip: the CLI finds it at
#                                   ../lib/drip/ from its own location (drip__libdir_file)
#   LIBDIR/libdrip-safe.so.0.1.0    (SONAME libdrip-safe.so.0), libdrip-safe.so, libdrip-safe.a
#   LIBDIR/pkgconfig/drip-safe.pc, LIBDIR/cmake/drip/
#   include/drip/*.h                the public headers (drip.h is header-only)
#   share/man/man1/drip.1           generated from the options table (drip options --man)
#   share/bash-completion/completions/drip   generated likewise (drip options --bash-completion)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(DRIP_PRIVATE_LIBDIR lib/drip)

# The man page and the completion come from the drip binary just built, so they cannot disagree
# with `drip run --help`. (A cross-compiled drip could not run here: install them from a native
# build.)
set(_gen ${PROJECT_BINARY_DIR}/share)
set(_run)
if(DRIP_SANITIZE STREQUAL "thread")
  set(_run setarch -R)   # as `make test-tsan` runs the TSan-built drip
endif()
add_custom_command(OUTPUT ${_gen}/man/man1/drip.1 ${_gen}/bash-completion/completions/drip
  COMMAND ${CMAKE_COMMAND} -E make_directory ${_gen}/man/man1 ${_gen}/bash-completion/completions
  COMMAND ${_run} $<TARGET_FILE:drip> options --man > ${_gen}/man/man1/drip.1
  COMMAND ${_run} $<TARGET_FILE:drip> options --bash-completion > ${_gen}/bash-completion/completions/drip
  DEPENDS drip
  COMMENT "drip(1) and the bash completion from the options table"
  VERBATIM)
add_custom_target(drip_docs ALL DEPENDS ${_gen}/man/man1/drip.1 ${_gen}/bash-completion/completions/drip)

install(TARGETS drip RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(TARGETS drip_preload LIBRARY DESTINATION ${DRIP_PRIVATE_LIBDIR} COMPONENT runtime)
install(FILES ${_gen}/man/man1/drip.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT runtime)
install(FILES ${_gen}/bash-completion/completions/drip
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions COMPONENT runtime)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/drip DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT dev FILES_MATCHING PATTERN "*.h")

# drip::api: the header-only program-side API (drip/drip.h looks libdrip.so up with dlsym).
add_library(drip_api INTERFACE)
target_include_directories(drip_api INTERFACE $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(drip_api INTERFACE ${CMAKE_DL_LIBS})
set_target_properties(drip_api PROPERTIES EXPORT_NAME api)
set(_exported drip_api)

if(TARGET drip_safe)
  set_target_properties(drip_safe PROPERTIES EXPORT_NAME safe)
  set_target_properties(drip_safe_static PROPERTIES EXPORT_NAME safe_static)
  # the build tree's include path is absolute; the installed one is relative to the prefix
  foreach(t drip_safe drip_safe_static)
    set_target_properties(${t} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES
      "$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>;$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")
  endforeach()
  install(TARGETS drip_safe drip_safe_static EXPORT drip-targets
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
  # pkg-config: prefix is found from the .pc file's own place, so the tree can move
  file(RELATIVE_PATH _pc_up ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
  string(REGEX REPLACE "/$" "" _pc_up "${_pc_up}")
  set(DRIP_PC_PREFIX "\${pcfiledir}/${_pc_up}")
  configure_file(${PROJECT_SOURCE_DIR}/cmake/drip-safe.pc.in ${PROJECT_BINARY_DIR}/drip-safe.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/drip-safe.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
endif()
install(TARGETS drip_api EXPORT drip-targets)
install(EXPORT drip-targets NAMESPACE drip:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/drip COMPONENT dev)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/dripConfig.cmake.in
  ${PROJECT_BINARY_DIR}/dripConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/drip)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/dripConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/dripConfig.cmake ${PROJECT_BINARY_DIR}/dripConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/drip COMPONENT dev)

# ---- Debian package: `make deb` (cpack -G DEB in the build directory) ----------------------
# One package, drip_VERSION_ARCH.deb, installing under /usr. Its Depends are the runtime
# libraries drip's binaries link or open on first need (libz.so.1 and libc.so.6 with GLIBC_2.34
# symbols linked; libunwind.so.8 and libdw.so.1 dlopen'ed by unwind_lu.c and dwload.c), listed here rather than computed by dpkg-shlibdeps so that the
# package is the same wherever it is built (tests/install checks these names).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME drip)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_CONTACT "drip maintainers <drip@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "memory-leak detector for C and C++ programs (LD_PRELOAD)")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "drip finds, measures and prevents memory leaks in C and C++ programs\n with no recompile: drip run -- ./prog prints a classified leak report at exit.\n Also libdrip-safe (leak-proof containers) and its headers.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6 (>= 2.34), libunwind8, libdw1 (>= 0.158), zlib1g (>= 1:1.1.4)")
set(CPACK_DEB_COMPONENT_INSTALL OFF)
set(CPACK_STRIP_FILES OFF)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/package)
include(CPack)
