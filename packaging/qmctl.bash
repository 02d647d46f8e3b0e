# bash completion for qmctl. VM names come from `qmctl list -o json` (no jq needed).

_qmctl_vms() {
  local socket=$1
  qmctl ${socket:+-s "$socket"} list -o json 2>/dev/null |
    grep -o '"name": *"[^"]*"' | sed 's/.*"name": *"\([^"]*\)"/\1/'
}

_qmctl() {
  local cur prev words cword
  _init_completion 2>/dev/null || {
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
  }
  local commands="host list show create apply delete start stop kill pause resume reset
    reboot argv console events logs render validate trial version help
    vnc screenshot send-keys cdrom resize-disk"
  local global="-s --socket -o -h --help"

  # The command is the first word that is neither a global flag nor its value; -s PATH is
  # remembered so names come from the right qmd.
  local cmd="" socket="" i
  for ((i = 1; i < cword; i++)); do
    case ${words[i]} in
      -s | --socket) socket=${words[i + 1]}; ((i++)) ;;
      -o | --output) ((i++)) ;;
      -*) ;;
      *) [[ -z $cmd ]] && cmd=${words[i]} ;;
    esac
  done

  case $prev in
    -s | --socket)
      COMPREPLY=($(compgen -f -- "$cur"))
      return ;;
    -o | --output)
      COMPREPLY=($(compgen -W "json text args shell" -- "$cur"))
      return ;;
    -f | --file)
      if [[ $cmd == create || $cmd == apply ]]; then
        COMPREPLY=($(compgen -f -X '!*.@(yaml|yml|json)' -- "$cur") $(compgen -d -- "$cur"))
        return
      fi ;;
    --grace | -n | --lines)
      return ;;
  esac

  if [[ -z $cmd ]]; then
    COMPREPLY=($(compgen -W "$commands $global" -- "$cur"))
    return
  fi

  local flags=""
  case $cmd in
    host) flags="--offline" ;;
    create) flags="-f --file --start" ;;
    apply) flags="-f --file" ;;
    delete) flags="--force" ;;
    stop) flags="--grace" ;;
    events) flags="-f --follow" ;;
    logs) flags="-n --lines" ;;
    render) flags="--config --emulation --hyperv --fake-host --run-dir --state-dir --preset-dir" ;;
    validate) flags="--config --emulation --hyperv --fake-host --preset-dir" ;;
    trial) flags="--config --emulation --hyperv --timeout --scratch-disks" ;;
    vnc) flags="--port --unix --websocket --once" ;;
    send-keys) flags="--hold" ;;
    cdrom) flags="--insert --eject --persist" ;;
    resize-disk) flags="--persist" ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$flags $global" -- "$cur"))
    return
  fi
  case $cmd in
    show | delete | start | stop | kill | pause | resume | reset | reboot | argv | console | \
      events | logs | vnc | screenshot | send-keys | cdrom | resize-disk)
      COMPREPLY=($(compgen -W "$(_qmctl_vms "$socket")" -- "$cur")) ;;
    render | validate | trial)
      COMPREPLY=($(compgen -f -X '!*.@(yaml|yml|json)' -- "$cur") $(compgen -d -- "$cur")) ;;
  esac
}

complete -F _qmctl qmctl
