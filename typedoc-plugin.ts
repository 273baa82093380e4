/**
 * A typedoc plugin for what the API reference cannot read from the source: the promise forms
 * `foo` that `AsyncForms` (adapters/vfs/async.ts) derives from every documented `fooSync`. A
 * mapped type that renames its keys keeps no declarations, so typedoc finds no comment on them;
 * writing each form out again by hand would let the two drift apart, which is what deriving them
 * avoids. Each such member gets the comment of its sync form, said of a promise. Anything else
 * undocumented is still reported (`validation.notDocumented` in typedoc.json).
 *
 * @module
 */
import { type Application, Comment, Converter, DeclarationReflection, ReflectionKind } from 'typedoc';

/** The comment of a method or of its first signature. */
function commentOf(reflection: DeclarationReflection): Comment | undefined {
  return reflection.comment ?? reflection.signatures?.[0]?.comment;
}

/** Adds the plugin to `app`. */
export function load(app: Application): void {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const member of context.project.getReflectionsByKind(ReflectionKind.Property)) {
      if (!(member instanceof DeclarationReflection) || member.hasComment()) continue;
      const sync = member.parent?.getChildByName(`${member.name}Sync`);
      const original = sync instanceof DeclarationReflection ? commentOf(sync) : undefined;
      if (!original) continue;
      member.comment = new Comment([
        { kind: 'text', text: 'The promise form of ' },
        { kind: 'code', text: `\`${member.name}Sync\`` },
        { kind: 'text', text: ' (it resolves with its result and rejects with its error): ' },
        ...Comment.cloneDisplayParts(original.summary),
      ]);
    }
  });
}
