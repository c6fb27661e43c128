/**
 * What AWS calls a Lambda function's code can make, found statically: from the handler's export,
 * a walk over the repository's TypeScript (relative imports and `@quire/*` workspaces; npm
 * packages are not entered) collects every `new XxxCommand(…)` of an `@aws-sdk/*` package the
 * handler can reach, and maps it to IAM actions with {@link IAM_ACTIONS}.
 *
 * Reachability is per declaration, not per file, so two handlers exported by one lambda.ts
 * (ingestion's API and its queue consumer) get different answers. The rules, each erring on the
 * side of "reachable" where the code cannot say:
 *
 * - An identifier reaches what it names (resolved by TypeScript, through imports and re-exports):
 *   a function's body, a class's constructor and field initializers, a variable's initializer.
 * - A variable declared in a function runs when its function runs, but what it builds matters only
 *   where it is used: it is walked when referenced — unless its initializer awaits (a side effect).
 * - Object literals and classes are containers: their methods, and properties holding functions
 *   or references, are walked when some reached code accesses a member of that name (`x.handle`,
 *   `const { handle } = x`) — by name, whatever the type, so a call through an interface reaches
 *   every reached implementation of that member; only a member TypeScript resolves to a library's
 *   own declarations (a stream reader's `cancel`) is the library's, and matches nothing here. Other property values (calls, awaits) are walked
 *   at once, as are all members of a literal handed to code outside the repository (`c.json({…})`).
 * - Functions passed as arguments are walked at once (the callee may call them).
 * - Every loaded module's top-level statements run (module load), its declarations as above.
 *
 * Each call is also attributed to the table whose store it belongs to: DynamoDB commands reached
 * through a table's package (jobs → @quire/jobs…) are that table's, shared helpers (@quire/dynamo)
 * included, so grants can be compared per table, not only per action.
 */
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import ts from "typescript";

export interface AwsCall {
  /** `@aws-sdk/client-sqs`, `@aws-sdk/lib-dynamodb`… */
  readonly sdk: string;
  /** `SendMessageCommand` */
  readonly command: string;
  /** IAM actions it needs (`sqs:SendMessage`); a transaction, one per kind of item it writes. */
  readonly actions: readonly string[];
  /** A Query naming an IndexName: authorized on the table's `/index/*`. */
  readonly onIndex: boolean;
  /** The table whose package the call was reached through (see `tableOwners`). */
  readonly table: string | undefined;
  /** `packages/jobs/src/jobs.ts:106` */
  readonly at: string;
  /** How the handler reaches it: each hop's `file:line (why)`, the handler's export first. */
  readonly via: readonly string[];
}

/**
 * SDK command → IAM action(s). One explicit table: an unknown command fails the scan, naming
 * itself, rather than being guessed. Transactions are authorized per item
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html),
 * batch sends by the single-message action, SESv2 as `ses:`, Converse as InvokeModel.
 */
export const IAM_ACTIONS: Readonly<Record<string, readonly string[]>> = {
  // DynamoDB, document client and low-level client alike
  GetCommand: ["dynamodb:GetItem"],
  GetItemCommand: ["dynamodb:GetItem"],
  PutCommand: ["dynamodb:PutItem"],
  PutItemCommand: ["dynamodb:PutItem"],
  UpdateCommand: ["dynamodb:UpdateItem"],
  UpdateItemCommand: ["dynamodb:UpdateItem"],
  DeleteCommand: ["dynamodb:DeleteItem"],
  DeleteItemCommand: ["dynamodb:DeleteItem"],
  QueryCommand: ["dynamodb:Query"],
  ScanCommand: ["dynamodb:Scan"],
  BatchGetCommand: ["dynamodb:BatchGetItem"],
  BatchWriteCommand: ["dynamodb:BatchWriteItem"],
  TransactGetCommand: ["dynamodb:GetItem"],
  // TransactWriteCommand: from its items (Put/Update/Delete/ConditionCheck), see transactionActions.
  // SQS
  SendMessageCommand: ["sqs:SendMessage"],
  SendMessageBatchCommand: ["sqs:SendMessage"],
  ReceiveMessageCommand: ["sqs:ReceiveMessage"],
  DeleteMessageCommand: ["sqs:DeleteMessage"],
  DeleteMessageBatchCommand: ["sqs:DeleteMessage"],
  ChangeMessageVisibilityCommand: ["sqs:ChangeMessageVisibility"],
  ChangeMessageVisibilityBatchCommand: ["sqs:ChangeMessageVisibility"],
  GetQueueAttributesCommand: ["sqs:GetQueueAttributes"],
  StartMessageMoveTaskCommand: ["sqs:StartMessageMoveTask"],
  ListMessageMoveTasksCommand: ["sqs:ListMessageMoveTasks"],
  CancelMessageMoveTaskCommand: ["sqs:CancelMessageMoveTask"],
  // SNS, EventBridge, S3, SES, Bedrock
  PublishCommand: ["sns:Publish"],
  PublishBatchCommand: ["sns:Publish"],
  PutEventsCommand: ["events:PutEvents"],
  GetObjectCommand: ["s3:GetObject"],
  HeadObjectCommand: ["s3:GetObject"],
  PutObjectCommand: ["s3:PutObject"],
  DeleteObjectCommand: ["s3:DeleteObject"],
  ListObjectsV2Command: ["s3:ListBucket"],
  // A multipart upload is authorized as PutObject, but for giving one up.
  CreateMultipartUploadCommand: ["s3:PutObject"],
  UploadPartCommand: ["s3:PutObject"],
  CompleteMultipartUploadCommand: ["s3:PutObject"],
  AbortMultipartUploadCommand: ["s3:AbortMultipartUpload"],
  // Authorized as reading the source and writing the copy.
  CopyObjectCommand: ["s3:GetObject", "s3:PutObject"],
  SendEmailCommand: ["ses:SendEmail"],
  ConverseCommand: ["bedrock:InvokeModel"],
  InvokeModelCommand: ["bedrock:InvokeModel"],
  ConverseStreamCommand: ["bedrock:InvokeModelWithResponseStream"],
  // Bedrock batch inference (CreateModelInvocationJob also needs iam:PassRole on its role: no call of its own)
  CreateModelInvocationJobCommand: ["bedrock:CreateModelInvocationJob", "iam:PassRole"],
  GetModelInvocationJobCommand: ["bedrock:GetModelInvocationJob"],
  StopModelInvocationJobCommand: ["bedrock:StopModelInvocationJob"],
  // KMS
  EncryptCommand: ["kms:Encrypt"],
  DecryptCommand: ["kms:Decrypt"],
  GenerateDataKeyCommand: ["kms:GenerateDataKey"],
};

const TRANSACTION_ITEM_ACTIONS: Readonly<Record<string, string>> = {
  Put: "dynamodb:PutItem",
  Update: "dynamodb:UpdateItem",
  Delete: "dynamodb:DeleteItem",
  ConditionCheck: "dynamodb:ConditionCheckItem",
};

export interface ScanOptions {
  /** The repository's root. */
  readonly root: string;
  /** Table → the folder (relative to root) of the package holding its store: `{ jobs: "packages/jobs" }`. */
  readonly tableOwners: Readonly<Record<string, string>>;
}

export interface HandlerScan {
  readonly calls: readonly AwsCall[];
  /** `new …Command(` whose class is not an @aws-sdk import, or an @aws-sdk command missing from IAM_ACTIONS. */
  readonly unclassified: readonly string[];
}

/** A scanner over one program holding every given handler module (parsed once, walked per export). */
export function createAwsCallScanner(handlerFiles: readonly string[], options: ScanOptions) {
  const root = resolve(options.root);
  const files = new Map<string, ts.SourceFile>();
  const imports = new Map<string, string[]>();

  const parse = (file: string) => {
    let source = files.get(file);
    if (!source) {
      source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
      files.set(file, source);
    }
    return source;
  };

  /** Relative `.ts` imports and `@quire/*` workspaces (their package.json `exports`); nothing else. */
  const resolveModule = (specifier: string, from: string): string | undefined => {
    if (specifier.startsWith(".")) {
      const target = resolve(dirname(from), specifier);
      return existsSync(target) && target.endsWith(".ts") ? target : undefined;
    }
    const match = /^(@quire\/[^/]+)(\/.+)?$/.exec(specifier);
    if (!match) return undefined;
    const packageDir = join(root, "node_modules", match[1]!);
    if (!existsSync(packageDir)) return undefined;
    const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as {
      exports?: Record<string, string | { import?: string; default?: string }>;
    };
    const entry = manifest.exports?.[`.${match[2] ?? ""}`];
    const path = typeof entry === "string" ? entry : (entry?.import ?? entry?.default);
    return path ? realpathSync(join(packageDir, path)) : undefined;
  };

  /** The modules loading `file` loads (type-only imports load nothing). */
  const runtimeImports = (file: string): string[] => {
    const cached = imports.get(file);
    if (cached) return cached;
    const found: string[] = [];
    const source = parse(file);
    const add = (specifier: ts.Expression | undefined) => {
      if (!specifier || !ts.isStringLiteral(specifier)) return;
      const target = resolveModule(specifier.text, file);
      if (target) found.push(target);
    };
    for (const statement of source.statements) {
      if (ts.isImportDeclaration(statement) && !statement.importClause?.isTypeOnly) add(statement.moduleSpecifier);
      if (ts.isExportDeclaration(statement) && !statement.isTypeOnly) add(statement.moduleSpecifier);
    }
    source.forEachChild(function dynamicImports(node): void {
      if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node.arguments[0]);
      node.forEachChild(dynamicImports);
    });
    imports.set(file, found);
    return found;
  };

  const loadedFrom = (entry: string): string[] => {
    const seen = new Set<string>([entry]);
    for (const file of seen) for (const next of runtimeImports(file)) seen.add(next);
    return [...seen];
  };

  const entries = handlerFiles.map((file) => resolve(file));
  const everyFile = [...new Set(entries.flatMap(loadedFrom))];
  // The libraries' own types too (Hono's context, zod's inferred shapes): the better TypeScript
  // knows what a member is, the less the walk falls back to matching members by name.
  const compilerOptions: ts.CompilerOptions = {
    noEmit: true,
    skipLibCheck: true,
    allowImportingTsExtensions: true,
    target: ts.ScriptTarget.ES2022,
    lib: ["lib.es2024.d.ts"],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: ["node"],
  };
  const host = ts.createCompilerHost(compilerOptions);
  const libraries = { getSourceFile: host.getSourceFile.bind(host) };
  host.getSourceFile = (fileName, language) =>
    fileName.includes("/node_modules/") || !existsSync(fileName)
      ? libraries.getSourceFile(fileName, language)
      : parse(resolve(fileName));
  host.resolveModuleNameLiterals = (literals, containingFile) =>
    literals.map((literal) => {
      const resolvedFileName = resolveModule(literal.text, containingFile);
      return resolvedFileName
        ? { resolvedModule: { resolvedFileName, extension: ts.Extension.Ts } }
        : ts.resolveModuleName(literal.text, containingFile, compilerOptions, host);
    });
  const program = ts.createProgram({ rootNames: everyFile, options: compilerOptions, host });
  const checker = program.getTypeChecker();

  const inRepository = (node: ts.Node) => {
    const file = node.getSourceFile()?.fileName;
    return file !== undefined && files.has(file) && !file.includes("/node_modules/");
  };
  const relative = (file: string) => file.slice(root.length + 1);
  const ownerFolders = Object.entries(options.tableOwners).map(([table, folder]) => ({
    table,
    folder: `${join(root, folder)}/`,
  }));
  const tableOfFile = (file: string) => ownerFolders.find(({ folder }) => file.startsWith(folder))?.table;

  /** Walk one export of one handler module. */
  function scan(handlerFile: string, exportName: string): HandlerScan {
    const file = resolve(handlerFile);
    const source = parse(file);
    const calls: AwsCall[] = [];
    const unclassified: string[] = [];
    const visited = new Set<string>();
    /** Member names some reached code uses, and the first code that did. */
    const pendingNames = new Map<string, ts.Node | undefined>();
    /** How each reached node was reached: from which reached node, and why. */
    const via = new Map<ts.Node, { from: ts.Node | undefined; because: string }>();
    /** Reached object literals and classes: member name → member nodes, with the table they were reached for. */
    const containers: { members: Map<string, ts.Node[]>; table: string | undefined }[] = [];
    const work: { node: ts.Node; table: string | undefined }[] = [];
    const nodeIds = new Map<ts.Node, number>();
    const idOf = (node: ts.Node) => {
      const known = nodeIds.get(node);
      if (known !== undefined) return known;
      nodeIds.set(node, nodeIds.size);
      return nodeIds.size - 1;
    };

    const reach = (
      node: ts.Node | undefined,
      table: string | undefined,
      because = "named there",
      from: ts.Node | undefined = current,
    ) => {
      if (!node || !inRepository(node)) return;
      const owner = tableOfFile(node.getSourceFile().fileName) ?? table;
      const key = `${idOf(node)}|${owner ?? ""}`;
      if (visited.has(key)) return;
      visited.add(key);
      if (!via.has(node)) via.set(node, { from, because });
      work.push({ node, table: owner });
    };

    const needName = (name: string, table: string | undefined) => {
      if (pendingNames.has(name)) return;
      pendingNames.set(name, current);
      for (const container of containers)
        for (const member of container.members.get(name) ?? [])
          reach(member, container.table ?? table, `member .${name}, used`, current);
    };

    const addContainer = (members: Map<string, ts.Node[]>, table: string | undefined) => {
      containers.push({ members, table });
      for (const [name, nodes] of members)
        if (pendingNames.has(name))
          for (const node of nodes) reach(node, table, `member .${name}, used`, pendingNames.get(name));
    };

    /** The chain that reached `node`, handler first: `file:line (why)`. */
    const chain = (node: ts.Node): string[] => {
      const hops: string[] = [];
      const seen = new Set<ts.Node>();
      for (let at: ts.Node | undefined = node; at && !seen.has(at) && hops.length < 40; at = via.get(at)?.from) {
        seen.add(at);
        const source = at.getSourceFile();
        const line = source.getLineAndCharacterOfPosition(at.getStart()).line + 1;
        hops.unshift(`${relative(source.fileName)}:${line}${via.get(at) ? ` (${via.get(at)!.because})` : ""}`);
      }
      return hops;
    };

    /** Reach what a symbol names: its declarations in the repository. */
    const reachSymbol = (symbol: ts.Symbol | undefined, table: string | undefined) => {
      if (!symbol) return;
      if (symbol.flags & ts.SymbolFlags.Alias) {
        const target = checker.getAliasedSymbol(symbol);
        if (target && target !== symbol && !(target.flags & ts.SymbolFlags.Alias)) symbol = target;
      }
      for (const declaration of symbol.declarations ?? []) reachDeclaration(declaration, table);
    };

    /**
     * Reached code uses member `name`, which TypeScript resolves to `symbol` where it can. Resolved
     * to the implementation itself (a literal's or a class's member): that one. Resolved to a data
     * member of a declared type (a string, a list of them): nothing runs. Otherwise (a member of an
     * interface, or of what the walk cannot type): every reached implementation of that name.
     */
    const useMember = (name: string, symbol: ts.Symbol | undefined, table: string | undefined) => {
      const declarations = symbol?.declarations ?? [];
      if (declarations.length && declarations.every((d) => inRepository(d) && isImplementationMember(d))) {
        for (const declaration of declarations) reachDeclaration(declaration, table);
        return;
      }
      if (declarations.length && declarations.every(isDataSignature)) return;
      // A member TypeScript knows only from a library's own types (a stream reader's `cancel`,
      // Hono's `c.json`): the library runs it, not a repository implementation of that name.
      if (declarations.length && declarations.every((d) => !inRepository(d))) return;
      needName(name, table);
      reachSymbol(symbol, table);
    };
    const propertyOfPattern = (element: ts.BindingElement, name: string) =>
      checker.getTypeAtLocation(element.parent).getProperty(name);

    const reachDeclaration = (declaration: ts.Declaration, table: string | undefined) => {
      if (!inRepository(declaration)) return;
      if (ts.isBindingElement(declaration)) {
        // `const { a } = x`: x, and x's member `a`.
        const name = declaration.propertyName ?? declaration.name;
        if (ts.isIdentifier(name) && ts.isObjectBindingPattern(declaration.parent))
          useMember(name.text, propertyOfPattern(declaration, name.text), table);
        let root: ts.Node = declaration;
        while (ts.isBindingElement(root) || ts.isObjectBindingPattern(root) || ts.isArrayBindingPattern(root))
          root = root.parent;
        if (ts.isVariableDeclaration(root)) reach(root.initializer, table);
        return;
      }
      if (ts.isVariableDeclaration(declaration)) return reach(declaration.initializer, table);
      if (ts.isParameter(declaration)) return; // its value comes from a call site, walked there
      if (ts.isShorthandPropertyAssignment(declaration) || ts.isPropertyAssignment(declaration))
        return reach(declaration, table);
      if (
        ts.isInterfaceDeclaration(declaration) ||
        ts.isTypeAliasDeclaration(declaration) ||
        ts.isPropertySignature(declaration) ||
        ts.isMethodSignature(declaration) ||
        ts.isTypeParameterDeclaration(declaration)
      )
        return;
      if (ts.isImportSpecifier(declaration) || ts.isImportClause(declaration) || ts.isNamespaceImport(declaration))
        return; // an npm package's export (our own are resolved through the alias)
      if (ts.isSourceFile(declaration)) return; // a namespace import: its members are reached by name
      reach(declaration, table);
    };

    /** A member whose value is only worth walking when someone uses it by name: anything but an await. */
    const isLazyMember = (member: ts.ObjectLiteralElementLike) =>
      ts.isMethodDeclaration(member) ||
      ts.isGetAccessorDeclaration(member) ||
      ts.isSetAccessorDeclaration(member) ||
      ts.isShorthandPropertyAssignment(member) ||
      (ts.isPropertyAssignment(member) && !awaitsDirectly(member.initializer));

    const memberName = (name: ts.PropertyName | undefined) =>
      name && (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isPrivateIdentifier(name))
        ? name.text
        : undefined;

    /** Calls into code outside the repository (a library), which may use any member of what it is given. */
    const callsOutside = (call: ts.CallExpression | ts.NewExpression) => {
      const callee = ts.isPropertyAccessExpression(call.expression) ? call.expression.name : call.expression;
      let symbol = checker.getSymbolAtLocation(callee);
      if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
      return !(symbol?.declarations ?? []).some((declaration) => inRepository(declaration));
    };

    /** Whether evaluating `node` awaits (outside any function it contains). */
    const awaitsDirectly = (node: ts.Node): boolean => {
      if (ts.isFunctionLike(node)) return false;
      if (ts.isAwaitExpression(node) || (ts.isForOfStatement(node) && node.awaitModifier)) return true;
      return node.forEachChild((child) => awaitsDirectly(child) || undefined) ?? false;
    };

    const recordCommand = (node: ts.NewExpression, table: string | undefined) => {
      if (!ts.isIdentifier(node.expression) || !node.expression.text.endsWith("Command")) return;
      const symbol = checker.getSymbolAtLocation(node.expression);
      const specifier = symbol?.declarations?.find(ts.isImportSpecifier);
      const at = `${relative(node.getSourceFile().fileName)}:${node.getSourceFile().getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
      if (!specifier) {
        // Our own class named …Command, or one reached through a namespace: say so rather than guess.
        if (!(symbol?.declarations ?? []).some((d) => inRepository(d) && !ts.isImportSpecifier(d)))
          unclassified.push(`${node.expression.text} at ${at}`);
        return;
      }
      const sdk = (specifier.parent.parent.parent.moduleSpecifier as ts.StringLiteral).text;
      if (!sdk.startsWith("@aws-sdk/")) return;
      const command = (specifier.propertyName ?? specifier.name).text;
      const input = node.arguments?.[0];
      const literal = input && ts.isObjectLiteralExpression(input) ? input : undefined;
      const property = (name: string) =>
        literal?.properties.find((p) => (p.name && memberName(p.name)) === name) as ts.PropertyAssignment | undefined;
      let actions: readonly string[] | undefined = IAM_ACTIONS[command];
      if (command === "TransactWriteCommand") {
        const items = property("TransactItems")?.initializer;
        const kinds = new Set<string>();
        items?.forEachChild(function look(child): void {
          if (ts.isPropertyAssignment(child) && TRANSACTION_ITEM_ACTIONS[memberName(child.name) ?? ""])
            kinds.add(TRANSACTION_ITEM_ACTIONS[memberName(child.name)!]!);
          child.forEachChild(look);
        });
        actions = kinds.size ? [...kinds].sort() : undefined;
      }
      if (!actions) {
        unclassified.push(`${command} (${sdk}) at ${at}`);
        return;
      }
      calls.push({
        sdk,
        command,
        actions,
        onIndex: property("IndexName") !== undefined,
        table: actions.some((action) => action.startsWith("dynamodb:")) ? table : undefined,
        at,
        via: current ? chain(current) : [],
      });
    };

    const walk = (node: ts.Node, table: string | undefined): void => {
      if (ts.isTypeNode(node) && !ts.isExpressionWithTypeArguments(node)) return;
      if (
        ts.isInterfaceDeclaration(node) ||
        ts.isTypeAliasDeclaration(node) ||
        ts.isImportDeclaration(node) ||
        ts.isExportDeclaration(node) ||
        ts.isModuleDeclaration(node) ||
        ts.isTypeParameterDeclaration(node)
      )
        return;

      // Declarations met inside a body: walked when referenced (see reachDeclaration), not here.
      if (ts.isFunctionDeclaration(node) && node !== current) return;
      if (ts.isClassDeclaration(node) && node !== current) return;
      if (ts.isVariableDeclaration(node) && node !== current) {
        if (node.initializer && awaitsDirectly(node.initializer)) reach(node.initializer, table);
        if (!ts.isIdentifier(node.name)) walkBindingNames(node.name, table);
        return;
      }

      if (ts.isNewExpression(node)) recordCommand(node, table);
      if ((ts.isCallExpression(node) || ts.isNewExpression(node)) && node.arguments?.length && callsOutside(node)) {
        // A library may use any member of what it is given (`Object.values(handlers)`, `c.json(view)`).
        for (const argument of node.arguments)
          if (ts.isIdentifier(argument) || ts.isPropertyAccessExpression(argument))
            for (const property of checker.getTypeAtLocation(argument).getProperties()) reachSymbol(property, table);
      }

      if (ts.isIdentifier(node)) {
        if (isReference(node)) reachSymbol(checker.getSymbolAtLocation(node), table);
        return;
      }
      if (ts.isPropertyAccessExpression(node)) {
        walk(node.expression, table);
        useMember(node.name.text, checker.getSymbolAtLocation(node.name), table);
        return;
      }
      if (ts.isElementAccessExpression(node)) {
        walk(node.expression, table);
        walk(node.argumentExpression, table);
        const key = node.argumentExpression;
        if (ts.isStringLiteralLike(key)) useMember(key.text, checker.getSymbolAtLocation(key), table);
        else
          for (const property of checker.getTypeAtLocation(node.expression).getProperties())
            reachSymbol(property, table);
        return;
      }
      if (ts.isParameter(node)) {
        if (!ts.isIdentifier(node.name)) walkBindingNames(node.name, table);
        if (node.initializer) walk(node.initializer, table);
        return;
      }
      if (ts.isObjectLiteralExpression(node)) {
        const handedOutside =
          (ts.isCallExpression(node.parent) || ts.isNewExpression(node.parent)) &&
          node.parent.expression !== node &&
          callsOutside(node.parent);
        const members = new Map<string, ts.Node[]>();
        for (const member of node.properties) {
          const name = memberName(member.name);
          if (!handedOutside && name !== undefined && isLazyMember(member)) {
            members.set(name, [...(members.get(name) ?? []), member]);
          } else reach(member, table);
        }
        addContainer(members, table);
        return;
      }
      if (ts.isShorthandPropertyAssignment(node) && node === current) {
        reachSymbol(checker.getShorthandAssignmentValueSymbol(node), table);
        return;
      }
      if (ts.isClassDeclaration(node) || ts.isClassExpression(node)) {
        const members = new Map<string, ts.Node[]>();
        for (const clause of node.heritageClauses ?? []) for (const type of clause.types) walk(type.expression, table);
        for (const member of node.members) {
          const name = memberName(member.name);
          if (
            name !== undefined &&
            (ts.isMethodDeclaration(member) ||
              ts.isGetAccessorDeclaration(member) ||
              ts.isSetAccessorDeclaration(member))
          )
            members.set(name, [...(members.get(name) ?? []), member]);
          else reach(member, table); // constructor, fields, static blocks: they run on construction
        }
        addContainer(members, table);
        return;
      }
      node.forEachChild((child) => walk(child, table));
    };

    const walkBindingNames = (pattern: ts.BindingName, table: string | undefined) => {
      if (ts.isIdentifier(pattern)) return;
      for (const element of pattern.elements) {
        if (ts.isOmittedExpression(element)) continue;
        const name = element.propertyName ?? element.name;
        if (ts.isIdentifier(name) && ts.isObjectBindingPattern(pattern))
          useMember(name.text, propertyOfPattern(element, name.text), table);
        if (element.initializer) walk(element.initializer, table);
        walkBindingNames(element.name, table);
      }
    };

    let current: ts.Node | undefined;
    const start = (node: ts.Node | undefined) => reach(node, undefined);

    // The export itself…
    const exported = source.statements
      .filter(ts.isVariableStatement)
      .flatMap((statement) => statement.declarationList.declarations)
      .find((declaration) => ts.isIdentifier(declaration.name) && declaration.name.text === exportName);
    const exportedFunction = source.statements.find(
      (statement) => ts.isFunctionDeclaration(statement) && statement.name?.text === exportName,
    );
    if (!exported && !exportedFunction) throw new Error(`${relative(file)} exports no ${exportName}`);
    start(exported?.initializer ?? exportedFunction);
    // …and what loading its module runs: every loaded module's top-level statements.
    for (const loaded of loadedFrom(file))
      for (const statement of parse(loaded).statements)
        if (
          !ts.isFunctionDeclaration(statement) &&
          !ts.isClassDeclaration(statement) &&
          !ts.isInterfaceDeclaration(statement) &&
          !ts.isTypeAliasDeclaration(statement) &&
          !ts.isImportDeclaration(statement) &&
          !ts.isExportDeclaration(statement)
        )
          start(statement);

    while (work.length) {
      const { node, table } = work.pop()!;
      current = node;
      if (ts.isPropertyAssignment(node)) walk(node.initializer, table);
      else walk(node, table);
    }
    return { calls, unclassified };
  }

  return { scan, files: () => [...files.keys()].map(relative) };
}

/** A member that is its own implementation: a literal's property or method, a class's field, method or accessor. */
function isImplementationMember(node: ts.Declaration): boolean {
  return (
    ts.isPropertyAssignment(node) ||
    ts.isShorthandPropertyAssignment(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isPropertyDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node)
  );
}

/** A declared member holding plain data (strings, numbers, literals, lists of them): no code behind it. */
function isDataSignature(node: ts.Declaration): boolean {
  return ts.isPropertySignature(node) && node.type !== undefined && isDataType(node.type);
}
function isDataType(type: ts.TypeNode): boolean {
  switch (type.kind) {
    case ts.SyntaxKind.StringKeyword:
    case ts.SyntaxKind.NumberKeyword:
    case ts.SyntaxKind.BooleanKeyword:
    case ts.SyntaxKind.BigIntKeyword:
    case ts.SyntaxKind.UndefinedKeyword:
    case ts.SyntaxKind.LiteralType:
      return true;
  }
  if (ts.isArrayTypeNode(type)) return isDataType(type.elementType);
  if (ts.isTypeOperatorNode(type)) return isDataType(type.type);
  if (ts.isUnionTypeNode(type) || ts.isTupleTypeNode(type))
    return (ts.isUnionTypeNode(type) ? type.types : type.elements).every((t) => isDataType(t as ts.TypeNode));
  if (ts.isParenthesizedTypeNode(type)) return isDataType(type.type);
  return false;
}

/** Whether an identifier is a value reference (not a declaration's own name, a property name or a label). */
function isReference(node: ts.Identifier): boolean {
  const parent = node.parent;
  if (!parent) return false;
  if (
    (ts.isVariableDeclaration(parent) ||
      ts.isFunctionDeclaration(parent) ||
      ts.isClassDeclaration(parent) ||
      ts.isParameter(parent) ||
      ts.isBindingElement(parent) ||
      ts.isMethodDeclaration(parent) ||
      ts.isPropertyDeclaration(parent) ||
      ts.isPropertyAssignment(parent) ||
      ts.isGetAccessorDeclaration(parent) ||
      ts.isSetAccessorDeclaration(parent) ||
      ts.isFunctionExpression(parent) ||
      ts.isClassExpression(parent) ||
      ts.isEnumMember(parent)) &&
    parent.name === node
  )
    return false;
  if (ts.isBindingElement(parent) && parent.propertyName === node) return false;
  if (ts.isLabeledStatement(parent) || ts.isBreakOrContinueStatement(parent)) return false;
  return true;
}
